//! Per-tensor update rules of the two optimisers, written on the inner (non-autodiff) backend.

use burn::tensor::{backend::Backend, Tensor};

/// AdamW exactly as `torch.optim.AdamW` (HF Trainer's `adamw_torch`).
///
/// ```text
/// p ← p·(1 − lr·wd)
/// m ← β1·m + (1−β1)·g            v ← β2·v + (1−β2)·g²
/// p ← p − lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + ε)
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamW {
    /// β1.
    pub beta1: f64,
    /// β2.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    /// Decoupled weight decay (0 for excluded parameters).
    pub weight_decay: f64,
}

impl Default for AdamW {
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// Moments of one parameter.
#[derive(Debug, Clone)]
pub struct AdamState<B: Backend, const D: usize> {
    /// First moment.
    pub exp_avg: Tensor<B, D>,
    /// Second moment.
    pub exp_avg_sq: Tensor<B, D>,
}

impl AdamW {
    /// One update at step `t` (1-based); `decay` false skips weight decay.
    pub fn step<B: Backend, const D: usize>(
        &self,
        t: u64,
        lr: f64,
        decay: bool,
        param: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<AdamState<B, D>>,
    ) -> (Tensor<B, D>, AdamState<B, D>) {
        let param = if decay && self.weight_decay != 0.0 {
            self.decayed(lr, param)
        } else {
            param
        };
        self.moment_step(t, lr, param, grad, state)
    }

    /// The decoupled weight decay of `param` at learning rate `lr`.
    pub(crate) fn decayed<B: Backend, const D: usize>(
        &self,
        lr: f64,
        param: Tensor<B, D>,
    ) -> Tensor<B, D> {
        param.mul_scalar(1.0 - lr * self.weight_decay)
    }

    /// The elementwise Adam update of an already decayed parameter.
    pub(crate) fn moment_step<B: Backend, const D: usize>(
        &self,
        t: u64,
        lr: f64,
        param: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<AdamState<B, D>>,
    ) -> (Tensor<B, D>, AdamState<B, D>) {
        let (exp_avg, exp_avg_sq) = match state {
            Some(s) => (s.exp_avg, s.exp_avg_sq),
            None => (grad.zeros_like(), grad.zeros_like()),
        };
        // torch: exp_avg.lerp_(grad, 1 − β1) = m + (1 − β1)(g − m)
        let exp_avg = exp_avg
            .clone()
            .add(grad.clone().sub(exp_avg).mul_scalar(1.0 - self.beta1));
        let exp_avg_sq = exp_avg_sq
            .mul_scalar(self.beta2)
            .add(grad.square().mul_scalar(1.0 - self.beta2));
        let bias_correction1 = 1.0 - self.beta1.powi(t as i32);
        let bias_correction2_sqrt = (1.0 - self.beta2.powi(t as i32)).sqrt();
        let step_size = lr / bias_correction1;
        let denom = exp_avg_sq
            .clone()
            .sqrt()
            .div_scalar(bias_correction2_sqrt)
            .add_scalar(self.eps);
        let param = param.sub(exp_avg.clone().div(denom).mul_scalar(step_size));
        (
            param,
            AdamState {
                exp_avg,
                exp_avg_sq,
            },
        )
    }
}

/// Adafactor exactly as `transformers.optimization.Adafactor` with `scale_parameter=False,
/// relative_step=False, warmup_init=False, beta1=None` (the reference's optimiser).
///
/// ```text
/// β2_t = 1 − t^decay_rate,  u = g² + ε1
/// rank ≥ 2: R ← β2_t·R + (1−β2_t)·mean_last(u),  C ← β2_t·C + (1−β2_t)·mean_second_last(u)
///           û = g · rsqrt(R / mean(R)) ⊗ rsqrt(C)
/// rank 1:   V ← β2_t·V + (1−β2_t)·u,  û = g · rsqrt(V)
/// û ← û / max(1, rms(û)/clip);  p ← p − wd·lr·p − lr·û
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adafactor {
    /// ε1, added to the squared gradient.
    pub eps1: f64,
    /// Decay exponent of β2.
    pub decay_rate: f64,
    /// Update clipping threshold on the RMS.
    pub clip_threshold: f64,
    /// Weight decay (0 for excluded parameters).
    pub weight_decay: f64,
}

impl Default for Adafactor {
    fn default() -> Self {
        Self {
            eps1: 1e-30,
            decay_rate: -0.8,
            clip_threshold: 1.0,
            weight_decay: 0.0,
        }
    }
}

/// Second-moment statistics of one parameter: factored (row, col) for rank ≥ 2, full for rank 1.
#[derive(Debug, Clone)]
pub enum AdafactorState<B: Backend, const D: usize> {
    /// Row means `[…, R, 1]` and column means `[…, 1, C]`.
    Factored {
        /// Running mean of u over the last dim.
        row: Tensor<B, D>,
        /// Running mean of u over the second-to-last dim.
        col: Tensor<B, D>,
    },
    /// Running mean of u, same shape as the parameter.
    Full(Tensor<B, D>),
}

/// `max(1, rms(x)/clip)` as a one-element tensor broadcastable to `x`, kept on the device.
fn clip_divisor<B: Backend, const D: usize>(x: &Tensor<B, D>, clip: f64) -> Tensor<B, D> {
    x.clone()
        .square()
        .mean()
        .sqrt()
        .div_scalar(clip)
        .clamp_min(1.0)
        .reshape([1; D])
}

impl Adafactor {
    /// One update at step `t` (1-based); `decay` false skips weight decay.
    pub fn step<B: Backend, const D: usize>(
        &self,
        t: u64,
        lr: f64,
        decay: bool,
        param: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<AdafactorState<B, D>>,
    ) -> (Tensor<B, D>, AdafactorState<B, D>) {
        let beta2t = 1.0 - (t as f64).powf(self.decay_rate);
        let u = grad.clone().square().add_scalar(self.eps1);
        let (update, state) = if D >= 2 {
            let new_row = u.clone().mean_dim(D - 1);
            let new_col = u.mean_dim(D - 2);
            let (row, col) = match state {
                Some(AdafactorState::Factored { row, col }) => {
                    (ema(row, new_row, beta2t), ema(col, new_col, beta2t))
                }
                _ => (
                    new_row.mul_scalar(1.0 - beta2t),
                    new_col.mul_scalar(1.0 - beta2t),
                ),
            };
            let r_factor = row.clone().div(row.clone().mean_dim(D - 2)).sqrt().recip();
            let c_factor = col.clone().sqrt().recip();
            (
                r_factor.mul(c_factor).mul(grad),
                AdafactorState::Factored { row, col },
            )
        } else {
            let v = match state {
                Some(AdafactorState::Full(v)) => ema(v, u, beta2t),
                _ => u.mul_scalar(1.0 - beta2t),
            };
            (v.clone().sqrt().recip().mul(grad), AdafactorState::Full(v))
        };
        let divisor = clip_divisor(&update, self.clip_threshold);
        let update = update.div(divisor);
        let update = update.mul_scalar(lr);
        let param = if decay && self.weight_decay != 0.0 {
            param.clone().sub(param.mul_scalar(self.weight_decay * lr))
        } else {
            param
        };
        (param.sub(update), state)
    }
}

fn ema<B: Backend, const D: usize>(
    old: Tensor<B, D>,
    new: Tensor<B, D>,
    beta: f64,
) -> Tensor<B, D> {
    old.mul_scalar(beta).add(new.mul_scalar(1.0 - beta))
}
