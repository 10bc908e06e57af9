//! Mixed precision inside the backbones.
//!
//! A backbone whose matmul weights were cast to bf16 or f16 (ranker-train's mixed precision casts
//! every backbone parameter but the LayerNorm ones) computes its hidden states in that dtype. The
//! numerically sensitive reductions run in f32, as torch autocast does: LayerNorm (its parameters
//! stay f32) and the attention softmax, including the additive/filled mask, which would overflow
//! to ±inf in f16. In f32 every helper is the identity (`cast` to the current dtype is a no-op).

use burn::module::{Module, ModuleMapper, Param};
use burn::nn::LayerNorm;
use burn::tensor::{activation, backend::Backend, Bool, FloatDType, Tensor};

/// `model` with every float parameter of its backbone(s) but the LayerNorm ones cast to `dtype`.
///
/// On an autodiff backend the cast is a tracked operation: run forward and backward on the result,
/// and `GradientsParams::from_grads(grads, &model)` gives the f32 gradients of the original
/// parameters (the cast's backward casts them back). Heads and losses outside the backbone keep
/// their f32 parameters; the backbone's output is cast to f32 ([`crate::Backbone::forward_output`]).
pub fn cast_backbone<B: Backend, M: Module<B>>(model: M, dtype: FloatDType) -> M {
    model.map(&mut CastBackbone {
        dtype,
        in_backbone: 0,
        in_layer_norm: 0,
    })
}

struct CastBackbone {
    dtype: FloatDType,
    in_backbone: usize,
    in_layer_norm: usize,
}

impl<B: Backend> ModuleMapper<B> for CastBackbone {
    fn enter_module(&mut self, _name: &str, container_type: &str) {
        match container_type {
            "Enum:Backbone" => self.in_backbone += 1,
            "Struct:LayerNorm" | "Struct:T5LayerNorm" => self.in_layer_norm += 1,
            _ => {}
        }
    }

    fn exit_module(&mut self, _name: &str, container_type: &str) {
        match container_type {
            "Enum:Backbone" => self.in_backbone -= 1,
            "Struct:LayerNorm" | "Struct:T5LayerNorm" => self.in_layer_norm -= 1,
            _ => {}
        }
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        if self.in_backbone == 0 || self.in_layer_norm > 0 {
            return param;
        }
        let (id, tensor, mapper) = param.consume();
        Param::from_mapped_value(id, tensor.cast(self.dtype), mapper)
    }
}

/// LayerNorm computed in the dtype of its parameters (f32 under mixed precision), the result cast
/// back to the input's dtype.
pub(crate) fn layer_norm<B: Backend, const D: usize>(
    norm: &LayerNorm<B>,
    x: Tensor<B, D>,
) -> Tensor<B, D> {
    let dtype = FloatDType::from(x.dtype());
    let norm_dtype = FloatDType::from(norm.gamma.val().dtype());
    if dtype == norm_dtype {
        return norm.forward(x);
    }
    norm.forward(x.cast(norm_dtype)).cast(dtype)
}

/// `softmax(scores + bias)` over the last dim, computed in f32 and cast back to `scores`' dtype.
///
/// # Shapes
/// - scores: `[batch, heads, seq, seq]`; bias: broadcastable to it (f32)
pub(crate) fn softmax_with_bias<B: Backend>(
    scores: Tensor<B, 4>,
    bias: Tensor<B, 4>,
) -> Tensor<B, 4> {
    let dtype = FloatDType::from(scores.dtype());
    let scores = scores.cast(FloatDType::F32) + bias.cast(FloatDType::F32);
    activation::softmax(scores, 3).cast(dtype)
}

/// `softmax(scores.mask_fill(masked, f32::MIN))` over the last dim, computed in f32 and cast back.
///
/// # Shapes
/// - scores, masked: `[batch, heads, seq, seq]`
pub(crate) fn masked_softmax<B: Backend>(
    scores: Tensor<B, 4>,
    masked: Tensor<B, 4, Bool>,
) -> Tensor<B, 4> {
    let dtype = FloatDType::from(scores.dtype());
    let scores = scores.cast(FloatDType::F32).mask_fill(masked, f32::MIN);
    activation::softmax(scores, 3).cast(dtype)
}

/// `x` in the dtype of `like`.
pub(crate) fn same_dtype<B: Backend, const D: usize, const E: usize>(
    x: Tensor<B, D>,
    like: &Tensor<B, E>,
) -> Tensor<B, D> {
    x.cast(FloatDType::from(like.dtype()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::nn::LayerNormConfig;

    #[test]
    fn bf16_layer_norm_runs_in_f32_and_returns_bf16() {
        let device = Default::default();
        let norm = LayerNormConfig::new(4).init::<Flex>(&device);
        let x = Tensor::<Flex, 2>::from_floats([[1.0, 2.0, 3.0, 4.0]], &device);
        let want = norm.forward(x.clone());
        let got = layer_norm(&norm, x.cast(FloatDType::BF16));
        assert_eq!(got.dtype(), FloatDType::BF16.into());
        let got: Vec<f32> = got.cast(FloatDType::F32).into_data().to_vec().unwrap();
        let want: Vec<f32> = want.into_data().to_vec().unwrap();
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-2, "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn f16_masked_softmax_does_not_overflow() {
        let device = Default::default();
        let scores = Tensor::<Flex, 4>::from_floats([[[[1.0, 2.0, 3.0]]]], &device);
        let masked = Tensor::<Flex, 4, Bool>::from_bool(
            burn::tensor::TensorData::from([[[[false, false, true]]]]),
            &device,
        );
        let probs = masked_softmax(scores.cast(FloatDType::F16), masked);
        let probs: Vec<f32> = probs.cast(FloatDType::F32).into_data().to_vec().unwrap();
        assert!(probs.iter().all(|p| p.is_finite()));
        assert!((probs[0] + probs[1] - 1.0).abs() < 1e-3 && probs[2] == 0.0);
    }
}
