//! The sparsely-gated mixture of experts used by SummaReranker (Shazeer et al. 2017, arXiv 1701.06538), one gate
//! per task over a shared pool of experts, with the reference's log-space combine.
// https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/model_moe.py

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, IndexingUpdateOp, Tensor};

/// Multiplier of the load-balancing loss (the reference's `loss_coef`).
pub const MOE_AUX_LOSS_COEF: f64 = 1e-2;
/// Added to the learned noise scale so it never reaches 0 (the reference's `noise_epsilon`).
const NOISE_EPSILON: f64 = 1e-2;
/// Guards the coefficient of variation against a zero mean (the reference's `eps` in `cv_squared`).
const CV_EPSILON: f64 = 1e-10;

/// One expert: `Linear(in → hidden) → ReLU → Linear(hidden → out)` (keys `fc1.*`, `fc2.*` as `MLPExpert`).
#[derive(Module, Debug)]
pub struct MlpExpert<B: Backend> {
    /// First projection.
    pub fc1: Linear<B>,
    /// Second projection.
    pub fc2: Linear<B>,
}

impl<B: Backend> MlpExpert<B> {
    /// # Shapes
    /// - `x`: `[batch, in]`
    /// - output: `[batch, out]`
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.fc2.forward(relu(self.fc1.forward(x)))
    }
}

/// Configuration of [`Moe`] (the reference's `MoE(n_tasks, input_size, output_size, num_experts, hidden_size, k)`).
#[derive(Config, Debug)]
pub struct MoeConfig {
    /// Number of tasks (one gate each).
    pub n_tasks: usize,
    /// Input width.
    pub input_size: usize,
    /// Output width of every expert.
    pub output_size: usize,
    /// Number of experts (SummaReranker: `2 · n_tasks`).
    pub num_experts: usize,
    /// Hidden width of every expert.
    pub hidden_size: usize,
    /// Experts used per example (SummaReranker: `n_tasks`).
    pub k: usize,
}

impl MoeConfig {
    /// Experts are torch-default `Linear`s (Kaiming-uniform, as burn's default); gates and noise weights start at 0,
    /// as in the reference.
    ///
    /// # Panics
    /// If `k` is 0 or larger than `num_experts` (the reference asserts `k <= num_experts`).
    pub fn init<B: Backend>(&self, device: &B::Device) -> Moe<B> {
        assert!(
            self.k >= 1 && self.k <= self.num_experts,
            "MoE k = {} must be in 1..={} (num_experts)",
            self.k,
            self.num_experts
        );
        let experts = (0..self.num_experts)
            .map(|_| MlpExpert {
                fc1: LinearConfig::new(self.input_size, self.hidden_size).init(device),
                fc2: LinearConfig::new(self.hidden_size, self.output_size).init(device),
            })
            .collect();
        let zeros = || {
            (0..self.n_tasks)
                .map(|_| {
                    Param::from_tensor(Tensor::zeros([self.input_size, self.num_experts], device))
                })
                .collect()
        };
        Moe {
            experts,
            w_gate: zeros(),
            w_noise: zeros(),
            k: self.k,
        }
    }
}

/// Noisy top-k gated mixture of experts with one gate per task (keys `experts.{e}.fc{1,2}.*`, `w_gate.{t}`,
/// `w_noise.{t}` as the reference's `MoE`).
#[derive(Module, Debug)]
pub struct Moe<B: Backend> {
    /// The shared experts.
    pub experts: Vec<MlpExpert<B>>,
    /// Per task: clean gating weights `[in, num_experts]`.
    pub w_gate: Vec<Param<Tensor<B, 2>>>,
    /// Per task: weights of the learned noise scale `[in, num_experts]`.
    pub w_noise: Vec<Param<Tensor<B, 2>>>,
    /// Experts used per example.
    pub k: usize,
}

/// Where the gating noise comes from.
#[derive(Debug, Clone)]
pub enum GateNoise<B: Backend> {
    /// Evaluation: clean logits, and the load is the count of examples routed to each expert.
    Clean,
    /// Training: standard normal noise drawn from the backend's seeded RNG (`B::seed`).
    Sampled,
    /// Training with the given standard normal draws, one `[batch, num_experts]` tensor per task (for parity tests).
    Given(Vec<Tensor<B, 2>>),
}

/// What [`Moe::forward`] returns.
#[derive(Debug, Clone)]
pub struct MoeOutput<B: Backend> {
    /// Per task: the combined expert output `[batch, out]`.
    pub outputs: Vec<Tensor<B, 2>>,
    /// Per task: the gates `[batch, num_experts]` (k non-zeros per row).
    pub gates: Vec<Tensor<B, 2>>,
    /// `Σ_tasks 0.01 · (cv²(importance) + cv²(load))`, shape `[1]`.
    pub aux_loss: Tensor<B, 1>,
}

impl<B: Backend> Moe<B> {
    /// Number of tasks (gates).
    pub fn n_tasks(&self) -> usize {
        self.w_gate.len()
    }

    /// Number of experts.
    pub fn num_experts(&self) -> usize {
        self.experts.len()
    }

    /// Route `x` through every task's gate.
    ///
    /// ```text
    /// clean  = x W_gate[t]
    /// noisy  = clean + ε · (softplus(x W_noise[t]) + 0.01),  ε ~ N(0, 1)          (training only)
    /// gates  = softmax over the top-k logits, 0 elsewhere
    /// y[t]   = log( Σ_e gates[:, e] · exp(expert_e(x)) ),  a sum of exactly 0 replaced by f64::EPSILON first
    /// load   = Σ_batch P(logit stays in the top k under fresh noise)   (training, k < E; else the routed count)
    /// aux    = Σ_t 0.01 · (cv²(Σ_batch gates) + cv²(load)),  cv²(v) = var(v) / (mean(v)² + 1e-10)  (unbiased var)
    /// ```
    /// Torch reference: `MoE.forward`, `noisy_top_k_gating`, `_prob_in_top_k` and `SparseDispatcher.combine` in
    /// `llm_blender/pair_ranker/model_moe.py`. Experts run densely on every example and unselected experts are
    /// masked out, which equals the reference's sparse dispatch. Top-k ties go to the lower expert index.
    ///
    /// # Shapes
    /// - `x`: `[batch, in]`
    ///
    /// # Panics
    /// If [`GateNoise::Given`] does not hold one draw per task.
    pub fn forward(&self, x: Tensor<B, 2>, noise: GateNoise<B>) -> MoeOutput<B> {
        let [batch, _] = x.dims();
        let n_experts = self.num_experts();
        let device = x.device();
        // [batch, E, out]
        let expert_outputs = Tensor::stack::<3>(
            self.experts.iter().map(|e| e.forward(x.clone())).collect(),
            1,
        );
        let mut outputs = Vec::with_capacity(self.n_tasks());
        let mut all_gates = Vec::with_capacity(self.n_tasks());
        if let GateNoise::Given(draws) = &noise {
            assert_eq!(
                draws.len(),
                self.n_tasks(),
                "GateNoise::Given needs one [batch, num_experts] draw per task"
            );
        }
        let mut aux_loss = Tensor::<B, 1>::zeros([1], &device);
        for task in 0..self.n_tasks() {
            let clean = x.clone().matmul(self.w_gate[task].val());
            let noisy = match &noise {
                GateNoise::Clean => None,
                GateNoise::Sampled => Some(Tensor::random(
                    [batch, n_experts],
                    Distribution::Normal(0.0, 1.0),
                    &device,
                )),
                GateNoise::Given(draws) => Some(draws[task].clone()),
            }
            .map(|standard_normal| {
                let raw_scale = x.clone().matmul(self.w_noise[task].val());
                let scale = stable_softplus(raw_scale).add_scalar(NOISE_EPSILON);
                (clean.clone() + standard_normal * scale.clone(), scale)
            });
            let logits = noisy
                .as_ref()
                .map_or_else(|| clean.clone(), |(n, _)| n.clone());

            let kept = (self.k + 1).min(n_experts);
            let order = logits
                .clone()
                .detach()
                .argsort_descending(1)
                .narrow(1, 0, kept);
            let top_logits = logits.gather(1, order.clone());
            let top_k_gates = softmax(top_logits.clone().narrow(1, 0, self.k), 1);
            let gates = Tensor::<B, 2>::zeros([batch, n_experts], &device).scatter(
                1,
                order.narrow(1, 0, self.k),
                top_k_gates,
                IndexingUpdateOp::Add,
            );

            let load = match &noisy {
                Some((noisy_logits, scale)) if self.k < n_experts => self
                    .prob_in_top_k(clean, noisy_logits.clone(), scale.clone(), top_logits)
                    .sum_dim(0),
                _ => gates.clone().greater_elem(0.0).float().sum_dim(0),
            };
            let importance = gates.clone().sum_dim(0);
            aux_loss = aux_loss
                + (cv_squared(importance) + cv_squared(load)).mul_scalar(MOE_AUX_LOSS_COEF);

            outputs.push(combine_in_log_space(gates.clone(), expert_outputs.clone()));
            all_gates.push(gates);
        }
        MoeOutput {
            outputs,
            gates: all_gates,
            aux_loss,
        }
    }

    /// Probability that each clean logit would still be in the top k under fresh noise, given the other noisy
    /// logits: `Φ((clean − threshold) / scale)`, where the threshold is the (k+1)-th largest noisy logit for
    /// experts currently in the top k and the k-th largest for the others.
    fn prob_in_top_k(
        &self,
        clean: Tensor<B, 2>,
        noisy: Tensor<B, 2>,
        scale: Tensor<B, 2>,
        top_logits: Tensor<B, 2>,
    ) -> Tensor<B, 2> {
        let shape = clean.shape();
        let threshold_if_in = top_logits
            .clone()
            .narrow(1, self.k, 1)
            .expand(shape.clone());
        let threshold_if_out = top_logits.narrow(1, self.k - 1, 1).expand(shape);
        let is_in = noisy.greater(threshold_if_in.clone());
        let prob_if_in = normal_cdf((clean.clone() - threshold_if_in) / scale.clone());
        let prob_if_out = normal_cdf((clean - threshold_if_out) / scale);
        prob_if_out.mask_where(is_in, prob_if_in)
    }
}

/// `y = log(Σ_e gates[:, e] · exp(expert_outputs[:, e, :]))`, with exact zeros replaced by `f64::EPSILON` (numpy's
/// float eps, as the reference) before the log.
fn combine_in_log_space<B: Backend>(
    gates: Tensor<B, 2>,
    expert_outputs: Tensor<B, 3>,
) -> Tensor<B, 2> {
    let [batch, n_experts, width] = expert_outputs.dims();
    let gates = gates.unsqueeze_dim::<3>(2);
    // Unselected experts are masked before exp so that a huge output cannot turn 0·inf into NaN.
    let unselected = gates
        .clone()
        .equal_elem(0.0)
        .expand([batch, n_experts, width]);
    let exp_outputs = expert_outputs.mask_fill(unselected, 0.0).exp();
    let combined = (exp_outputs * gates).sum_dim(1).reshape([batch, width]);
    let zero = combined.clone().equal_elem(0.0);
    combined.mask_fill(zero, f64::EPSILON).log()
}

/// Squared coefficient of variation of a `[1, n]` row; 0 when `n == 1` (as the reference).
fn cv_squared<B: Backend>(values: Tensor<B, 2>) -> Tensor<B, 1> {
    let [_, n] = values.dims();
    if n == 1 {
        return Tensor::zeros([1], &values.device());
    }
    let mean = values.clone().mean_dim(1);
    let variance = values.var(1);
    (variance / mean.square().add_scalar(CV_EPSILON)).reshape([1])
}

/// Standard normal CDF `Φ(z) = (1 + erf(z/√2)) / 2` (as `torch.distributions.Normal(0, 1).cdf`).
fn normal_cdf<B: Backend, const D: usize>(z: Tensor<B, D>) -> Tensor<B, D> {
    z.div_scalar(std::f64::consts::SQRT_2)
        .erf()
        .add_scalar(1.0)
        .mul_scalar(0.5)
}

/// `log(1 + exp(x))` without overflow: `max(x, 0) + log1p(exp(−|x|))`.
pub(crate) fn stable_softplus<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    x.clone().clamp_min(0.0) + x.abs().neg().exp().log1p()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::{TensorData, Tolerance};

    type B = Flex;

    fn moe_with_gates(w_gate: [[f32; 4]; 2]) -> Moe<B> {
        let device = Default::default();
        let mut moe = MoeConfig::new(1, 2, 3, 4, 5, 2).init::<B>(&device);
        moe.w_gate[0] = Param::from_tensor(Tensor::from_floats(w_gate, &device));
        moe
    }

    #[test]
    fn clean_gates_pick_the_top_k_and_sum_to_one() {
        let device = Default::default();
        let moe = moe_with_gates([[1.0, -1.0, 0.5, 0.0], [0.0, 0.0, 0.0, 2.0]]);
        let x = Tensor::<B, 2>::from_floats([[1.0, 0.0], [0.0, 1.0]], &device);
        let out = moe.forward(x, GateNoise::Clean);
        let gates = out.gates[0].clone();
        // Row 0 logits [1, −1, .5, 0] → experts 0, 2; row 1 logits [0, 0, 0, 2] → expert 3, then the tie to expert 0.
        let nonzero = gates.clone().greater_elem(0.0).int();
        nonzero
            .into_data()
            .assert_eq(&TensorData::from([[1i64, 0, 1, 0], [1, 0, 0, 1]]), false);
        gates.sum_dim(1).into_data().assert_approx_eq::<f32>(
            &TensorData::from([[1.0f32], [1.0]]),
            Tolerance::absolute(1e-6),
        );
        assert_eq!(out.outputs[0].dims(), [2, 3]);
    }

    #[test]
    fn log_space_combine_of_one_expert_is_its_output() {
        let device = Default::default();
        let gates = Tensor::<B, 2>::from_floats([[0.0, 1.0]], &device);
        let outputs = Tensor::<B, 3>::from_floats([[[500.0, 1.0], [0.25, -2.0]]], &device);
        // Expert 0 is unselected: its exp would overflow, but it is masked out.
        combine_in_log_space(gates, outputs)
            .into_data()
            .assert_approx_eq::<f32>(
                &TensorData::from([[0.25f32, -2.0]]),
                Tolerance::absolute(1e-6),
            );
    }

    #[test]
    fn an_all_zero_gate_row_becomes_log_eps() {
        let device = Default::default();
        let gates = Tensor::<B, 2>::zeros([1, 2], &device);
        let outputs = Tensor::<B, 3>::zeros([1, 2, 1], &device);
        let got = combine_in_log_space(gates, outputs)
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        assert!(
            (got[0] - (f64::EPSILON as f32).ln()).abs() < 1e-4,
            "{got:?}"
        );
    }

    #[test]
    fn cv_squared_uses_the_unbiased_variance() {
        let device = Default::default();
        let v = Tensor::<B, 2>::from_floats([[1.0, 2.0, 3.0]], &device);
        // var = 1, mean² = 4
        cv_squared(v)
            .into_data()
            .assert_approx_eq::<f32>(&TensorData::from([0.25f32]), Tolerance::absolute(1e-6));
        let single = Tensor::<B, 2>::from_floats([[5.0]], &device);
        cv_squared(single)
            .into_data()
            .assert_eq(&TensorData::from([0.0f32]), false);
    }

    #[test]
    fn normal_cdf_matches_known_values() {
        let device = Default::default();
        let z = Tensor::<B, 1>::from_floats([0.0, 1.0, -1.959964], &device);
        normal_cdf(z).into_data().assert_approx_eq::<f32>(
            &TensorData::from([0.5f32, 0.841_344_7, 0.025]),
            Tolerance::absolute(1e-5),
        );
    }
}
