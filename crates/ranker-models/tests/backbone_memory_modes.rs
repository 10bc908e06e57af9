//! The two memory savers of training, on every tiny fixture backbone (dropout off, transformers'
//! padded long batch):
//! - activation checkpointing (burn-autodiff's `BalancedCheckpointing`: memory-bound activations
//!   recomputed in backward) gives the same output and the same parameter gradients as storing
//!   everything, within 1e-5;
//! - mixed precision ([`cast_backbone`] to bf16 / f16, LayerNorm and softmax in f32) stays close to
//!   transformers' f32 output, and its gradients land on the f32 parameters, close to the f32 ones.

mod common;

use std::collections::BTreeMap;

use burn::backend::autodiff::checkpoint::strategy::BalancedCheckpointing;
use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{DType, FloatDType, Int, Tensor, TensorData};
use common::{expected, fixtures, max_abs_diff, MODELS};
use ranker_models::{
    backbone::cast_backbone, backbone_gradients, load_backbone_with_config, BackboneConfig,
    BackboneInput,
};

type Plain = Autodiff<Flex>;
type Checkpointed = Autodiff<Flex, BalancedCheckpointing>;

fn without_dropout(config: BackboneConfig) -> BackboneConfig {
    match config {
        BackboneConfig::DebertaV2(mut c) => {
            c.hidden_dropout_prob = 0.0;
            c.attention_probs_dropout_prob = 0.0;
            BackboneConfig::DebertaV2(c)
        }
        BackboneConfig::Bert(mut c) => {
            c.hidden_dropout_prob = 0.0;
            c.attention_probs_dropout_prob = 0.0;
            BackboneConfig::Bert(c)
        }
        BackboneConfig::Roberta(mut c) => {
            c.hidden_dropout_prob = 0.0;
            c.attention_probs_dropout_prob = 0.0;
            BackboneConfig::Roberta(c)
        }
        BackboneConfig::XlmRoberta(mut c) => {
            c.hidden_dropout_prob = 0.0;
            c.attention_probs_dropout_prob = 0.0;
            BackboneConfig::XlmRoberta(c)
        }
        BackboneConfig::T5(mut c) => {
            c.dropout_rate = 0.0;
            BackboneConfig::T5(c)
        }
    }
}

/// Output and parameter gradients of `sum(last_hidden_state · W)` on `model`'s long padded batch,
/// with the backbone's parameters cast to `dtype` for the computation.
fn output_and_gradients<B: AutodiffBackend>(
    model: &str,
    dtype: Option<FloatDType>,
) -> (TensorData, BTreeMap<String, TensorData>) {
    let device = Default::default();
    let dir = fixtures().join(model);
    let config = without_dropout(BackboneConfig::from_file(&dir.join("config.json")).unwrap());
    let backbone = load_backbone_with_config::<B>(&dir, &config, &device).unwrap();
    let want = expected(model);
    let int = |key: &str| -> Option<Tensor<B, 2, Int>> {
        want.get(&format!("long_padded_batch.{key}"))
            .map(|d| Tensor::from_data(d.clone(), &device))
    };
    let mut input = BackboneInput::new(int("input_ids").unwrap(), int("attention_mask").unwrap());
    if let Some(types) = int("token_type_ids") {
        input = input.token_type_ids(types);
    }
    let compute = match dtype {
        Some(dtype) => cast_backbone(backbone.clone(), dtype),
        None => backbone.clone(),
    };
    let out = compute.forward(input);
    assert_eq!(out.dtype(), DType::F32, "{model}: backbone output is f32");
    let weights = Tensor::<B, 3>::from_data(want["grad_weights"].clone(), &device);
    let grads = (out.clone() * weights).sum().backward();
    let grads = backbone_gradients(&backbone, &grads, "")
        .into_iter()
        .collect();
    (out.into_data(), grads)
}

#[test]
fn checkpointing_gives_the_same_outputs_and_gradients() {
    for model in MODELS {
        let (out, grads) = output_and_gradients::<Plain>(model, None);
        let (out_ckpt, grads_ckpt) = output_and_gradients::<Checkpointed>(model, None);
        assert!(max_abs_diff(&out, &out_ckpt) <= 1e-5, "{model}: output");
        assert_eq!(
            grads.keys().collect::<Vec<_>>(),
            grads_ckpt.keys().collect::<Vec<_>>()
        );
        for (key, g) in &grads {
            let diff = max_abs_diff(g, &grads_ckpt[key]);
            assert!(diff <= 1e-5, "{model} {key}: {diff}");
        }
    }
}

#[test]
fn half_precision_stays_close_to_f32() {
    // bf16 keeps 8 mantissa bits, f16 11: relative errors of ~2^-8 and ~2^-11 per rounding.
    for (dtype, out_tol, grad_tol) in [
        (FloatDType::BF16, 6e-2, 1e-1),
        (FloatDType::F16, 1e-2, 2e-2),
    ] {
        for model in MODELS {
            let (out, grads) = output_and_gradients::<Plain>(model, None);
            let (low_out, low_grads) = output_and_gradients::<Plain>(model, Some(dtype));
            let out_diff = max_abs_diff(&out, &low_out);
            assert!(out_diff <= out_tol, "{model} {dtype:?}: output {out_diff}");
            assert_eq!(
                grads.keys().collect::<Vec<_>>(),
                low_grads.keys().collect::<Vec<_>>()
            );
            for (key, g) in &grads {
                assert_eq!(
                    low_grads[key].dtype,
                    DType::F32,
                    "{model} {key}: f32 gradient"
                );
                let scale = g
                    .to_vec::<f32>()
                    .unwrap()
                    .iter()
                    .fold(0.0f32, |m, v| m.max(v.abs()))
                    .max(1.0);
                let diff = max_abs_diff(g, &low_grads[key]);
                assert!(
                    diff <= grad_tol * scale,
                    "{model} {dtype:?} {key}: {diff} (largest entry {scale})"
                );
            }
        }
    }
}
