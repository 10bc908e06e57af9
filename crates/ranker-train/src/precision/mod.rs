//! Mixed-precision training (`train.precision: bf16 | fp16`).
//!
//! The model the optimiser updates keeps f32 parameters (the master weights); its optimiser state
//! and checkpoints stay f32. Each forward pass runs on a low-precision view of it
//! ([`MixedPrecision::compute_model`]): every backbone parameter but the LayerNorm ones is cast to
//! bf16/f16 by a tracked autodiff cast, so the backbone's matmuls, activations and saved
//! activations are 16-bit, while backward casts each parameter's gradient back to f32 at the master
//! leaf. LayerNorm, the attention softmax, the heads and the losses run in f32 (see ranker-models'
//! backbone precision helpers). The flat gradient the ranks all-reduce is therefore f32.
//! fp16 adds dynamic loss scaling ([`loss_scale`]).

pub mod loss_scale;

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, FloatDType};

use crate::config::Precision;
use crate::error::TrainError;

pub use loss_scale::{LossScaleState, LossScaler, ScaleOutcome};

/// The dtype backbone matmuls compute in, or `None` for plain f32.
pub fn compute_dtype(precision: Precision) -> Option<FloatDType> {
    match precision {
        Precision::Fp32 => None,
        Precision::Bf16 => Some(FloatDType::BF16),
        Precision::Fp16 => Some(FloatDType::F16),
    }
}

/// Fails (naming `key`) when backend `B` cannot compute in `precision` on `device`.
pub fn check_supported<B: Backend>(
    precision: Precision,
    key: &'static str,
    device: &B::Device,
) -> Result<(), TrainError> {
    let supported =
        compute_dtype(precision).is_none_or(|dtype| B::supports_dtype(device, DType::from(dtype)));
    support_verdict(precision, key, &B::name(device), supported)
}

/// The one-line error for a precision the backend named `backend` does not support.
fn support_verdict(
    precision: Precision,
    key: &'static str,
    backend: &str,
    supported: bool,
) -> Result<(), TrainError> {
    if supported {
        return Ok(());
    }
    Err(TrainError::Setup {
        key,
        message: format!(
            "{} is not supported by the {backend} backend of this build; use fp32{}",
            precision.as_str(),
            if precision == Precision::Fp16 {
                " or bf16"
            } else {
                ""
            }
        ),
    })
}

/// Casts the backbone of a model for the forward pass (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MixedPrecision {
    dtype: Option<FloatDType>,
}

impl MixedPrecision {
    /// Mixed precision as configured.
    pub fn new(precision: Precision) -> Self {
        Self {
            dtype: compute_dtype(precision),
        }
    }

    /// True for bf16/fp16.
    pub fn is_mixed(&self) -> bool {
        self.dtype.is_some()
    }

    /// The model to run forward (and backward) on: `model` itself in f32, else a view with the
    /// backbone's non-LayerNorm parameters cast to the compute dtype. Gradients of the view land on
    /// `model`'s parameters (same ids), in f32.
    pub fn compute_model<B: Backend, M: Module<B>>(&self, model: M) -> M {
        match self.dtype {
            None => model,
            Some(dtype) => ranker_models::backbone::cast_backbone(model, dtype),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn the_cpu_backend_computes_in_every_precision() {
        for precision in [Precision::Fp32, Precision::Bf16, Precision::Fp16] {
            check_supported::<Flex>(precision, "train.precision", &Default::default()).unwrap();
        }
    }

    #[test]
    fn an_unsupported_precision_is_one_line_naming_the_key() {
        let err = support_verdict(Precision::Bf16, "eval.precision", "cuda<sm_70>", false)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("eval.precision"), "{err}");
        assert!(err.contains("bf16") && err.contains("cuda<sm_70>"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(support_verdict(Precision::Fp16, "k", "b", true).is_ok());
    }
}
