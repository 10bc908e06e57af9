//! Dynamic loss scaling for fp16 training (as torch's `GradScaler`).
//!
//! The loss is multiplied by `scale` before backward so that small fp16 gradients do not flush to
//! zero; the flat fp32 gradient is divided by it again before clipping and the optimiser. A
//! gradient with an inf or NaN (an fp16 overflow somewhere in backward) skips the optimiser step
//! and halves the scale; after `growth_interval` clean steps in a row the scale doubles.
//! The state ([`LossScaleState`]) is saved in checkpoints so that a resumed run scales exactly as
//! the uninterrupted run would have.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// torch.amp.GradScaler's defaults.
pub const INITIAL_SCALE: f64 = 65536.0;
/// Multiplier after `growth_interval` clean steps.
pub const GROWTH_FACTOR: f64 = 2.0;
/// Multiplier after an overflow.
pub const BACKOFF_FACTOR: f64 = 0.5;
/// Clean steps before the scale grows.
pub const GROWTH_INTERVAL: u64 = 2000;

/// What the scaler's state is between steps (saved in `trainer_state.json`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LossScaleState {
    /// The current scale.
    pub scale: f64,
    /// Clean steps since the last growth or overflow.
    pub clean_steps: u64,
}

/// What the loop does with a step's gradient.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScaleOutcome {
    /// Finite gradient: apply the optimiser step.
    Apply {
        /// The new scale when it just grew.
        grew_to: Option<f64>,
    },
    /// Inf/NaN gradient: skip the step.
    Skip {
        /// The halved scale.
        new_scale: f64,
    },
}

/// Dynamic loss scaler.
#[derive(Debug, Clone, PartialEq)]
pub struct LossScaler {
    state: LossScaleState,
    growth_interval: u64,
}

impl Default for LossScaler {
    fn default() -> Self {
        Self::new(INITIAL_SCALE, GROWTH_INTERVAL)
    }
}

impl LossScaler {
    /// A scaler starting at `scale` that grows after `growth_interval` clean steps.
    pub fn new(scale: f64, growth_interval: u64) -> Self {
        assert!(scale > 0.0 && scale.is_finite(), "loss scale {scale}");
        assert!(growth_interval > 0, "growth interval must be positive");
        Self {
            state: LossScaleState {
                scale,
                clean_steps: 0,
            },
            growth_interval,
        }
    }

    /// The factor the loss is multiplied by before backward.
    pub fn scale(&self) -> f64 {
        self.state.scale
    }

    /// The state to checkpoint.
    pub fn state(&self) -> LossScaleState {
        self.state
    }

    /// Continues from a checkpointed state.
    pub fn restore(&mut self, state: LossScaleState) {
        self.state = state;
    }

    /// Records whether this step's gradient was finite and says what to do with it.
    pub fn update(&mut self, finite: bool) -> ScaleOutcome {
        if !finite {
            self.state.scale *= BACKOFF_FACTOR;
            self.state.clean_steps = 0;
            return ScaleOutcome::Skip {
                new_scale: self.state.scale,
            };
        }
        self.state.clean_steps += 1;
        if self.state.clean_steps < self.growth_interval {
            return ScaleOutcome::Apply { grew_to: None };
        }
        self.state.clean_steps = 0;
        let grown = self.state.scale * GROWTH_FACTOR;
        // Stay finite in f32, where the loss is multiplied.
        if grown < f64::from(f32::MAX) {
            self.state.scale = grown;
        }
        ScaleOutcome::Apply {
            grew_to: Some(self.state.scale),
        }
    }
}

/// True when every element of the flat gradient is finite (one device-side reduction, one scalar read).
pub fn all_finite<B: Backend>(flat: &Tensor<B, 1>) -> bool {
    let bad = flat.clone().is_nan().bool_or(flat.clone().is_inf());
    !bad.any().into_scalar().to_bool()
}

/// Extension used by [`all_finite`]: burn's bool element to a Rust bool.
trait ToBool {
    fn to_bool(self) -> bool;
}

impl<E: burn::tensor::ElementConversion> ToBool for E {
    fn to_bool(self) -> bool {
        self.elem::<bool>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn overflow_halves_and_skips() {
        let mut s = LossScaler::new(1024.0, 3);
        assert_eq!(s.update(true), ScaleOutcome::Apply { grew_to: None });
        assert_eq!(s.update(false), ScaleOutcome::Skip { new_scale: 512.0 });
        assert_eq!(s.state().clean_steps, 0);
    }

    #[test]
    fn grows_after_interval_of_clean_steps() {
        let mut s = LossScaler::new(8.0, 2);
        assert_eq!(s.update(true), ScaleOutcome::Apply { grew_to: None });
        assert_eq!(
            s.update(true),
            ScaleOutcome::Apply {
                grew_to: Some(16.0)
            }
        );
        assert_eq!(s.update(true), ScaleOutcome::Apply { grew_to: None });
        assert_eq!(s.update(false), ScaleOutcome::Skip { new_scale: 8.0 });
        // The interval restarts after an overflow.
        assert_eq!(s.update(true), ScaleOutcome::Apply { grew_to: None });
    }

    #[test]
    fn restore_continues_exactly() {
        let mut a = LossScaler::new(8.0, 3);
        a.update(true);
        a.update(true);
        let mut b = LossScaler::new(8.0, 3);
        b.restore(a.state());
        assert_eq!(a.update(true), b.update(true));
        assert_eq!(a, b);
    }

    #[test]
    fn finds_inf_and_nan() {
        let device = Default::default();
        let t = |v: &[f32]| Tensor::<Flex, 1>::from_floats(v, &device);
        assert!(all_finite(&t(&[0.0, -1.0, 3.0e38])));
        assert!(!all_finite(&t(&[0.0, f32::INFINITY])));
        assert!(!all_finite(&t(&[f32::NAN, 1.0])));
        assert!(!all_finite(&t(&[f32::NEG_INFINITY])));
    }
}
