//! The two memory savers of training, on every tiny fixture backbone (dropout off, transformers'
//! padded long batch):
//! - activation checkpointing (burn-autodiff's `BalancedCheckpointing`: memory-bound activations
//!   recomputed in backward) gives the same output and the same parameter gradients as storing
//!   everything, within 1e-5;
//! - mixed precision ([`cast_backbone`] to bf16 / f16, LayerNorm and softmax in f32) stays close to
//!   the f32 output, and its gradients land on the f32 parameters, close to the f32 ones.

mod common;

use std::collections::BTreeMap;

use burn::backend::autodiff::checkpoint::strategy::BalancedCheckpointing;
use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{DType, FloatDType, Int, Tensor, TensorData};
use common::{expected, fixtures, max_abs_diff, without_dropout, MODELS};
use ranker_models::{
    backbone::cast_backbone, backbone_gradients, load_backbone_with_config, BackboneConfig,
    BackboneInput,
};

type Plain = Autodiff<Flex>;
type Checkpointed = Autodiff<Flex, BalancedCheckpointing>;

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

/// The largest `|x|` of `data`, at least 1 (the scale relative errors are measured against).
fn scale_of(data: &TensorData) -> f32 {
    data.to_vec::<f32>()
        .unwrap()
        .iter()
        .fold(0.0f32, |m, v| m.max(v.abs()))
        .max(1.0)
}

fn l2(values: impl Iterator<Item = f32>) -> f32 {
    values.map(|x| x * x).sum::<f32>().sqrt()
}

/// `‖b − a‖ / max(‖a‖, floor)`: the error of a whole gradient tensor relative to its size (a max of
/// element-wise errors would weigh a tiny entry of a long low-precision sum like a big one); the
/// floor keeps tensors whose gradient is zero in exact arithmetic (f32 holds rounding noise there)
/// from dividing by noise.
fn relative_l2(a: &TensorData, b: &TensorData, floor: f32) -> f32 {
    let (a, b) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
    assert_eq!(a.len(), b.len());
    l2(a.iter().zip(&b).map(|(x, y)| x - y)) / l2(a.iter().copied()).max(floor)
}

#[test]
fn half_precision_stays_close_to_f32() {
    // bf16 keeps 8 mantissa bits, f16 11: relative errors of ~2^-8 and ~2^-11 per rounding, grown
    // by a few layers (output: max error relative to the largest entry; gradients: relative L2 per
    // tensor). T5 does not scale its attention scores, so their 16-bit rounding errors are tens of
    // times larger before the softmax: its bounds are looser (measured worst: bf16 output 0.18,
    // gradients 0.72; f16 0.05 and 0.31) and only catch a broken computation.
    for (dtype, out_tol, grad_tol, t5_out_tol, t5_grad_tol) in [
        (FloatDType::BF16, 5e-2, 0.25, 0.3, 1.0),
        (FloatDType::F16, 1e-2, 0.15, 0.1, 0.5),
    ] {
        for model in MODELS {
            let (out, grads) = output_and_gradients::<Plain>(model, None);
            let (low_out, low_grads) = output_and_gradients::<Plain>(model, Some(dtype));
            let (out_tol, grad_tol) = if model.contains("t5") {
                (t5_out_tol, t5_grad_tol)
            } else {
                (out_tol, grad_tol)
            };
            let out_diff = max_abs_diff(&out, &low_out) / scale_of(&out);
            assert!(out_diff <= out_tol, "{model} {dtype:?}: output {out_diff}");
            assert_eq!(
                grads.keys().collect::<Vec<_>>(),
                low_grads.keys().collect::<Vec<_>>()
            );
            // 1 % of the whole gradient's norm.
            let floor = 1e-2 * l2(grads.values().flat_map(|g| g.to_vec::<f32>().unwrap()));
            let mut worst = (0.0f32, String::new());
            for (key, g) in &grads {
                assert_eq!(
                    low_grads[key].dtype,
                    DType::F32,
                    "{model} {key}: f32 gradient"
                );
                let diff = relative_l2(g, &low_grads[key], floor);
                // A NaN difference is kept (and fails the bound below).
                if diff.is_nan() || diff > worst.0 {
                    worst = (diff, key.clone());
                }
            }
            assert!(
                worst.0 <= grad_tol,
                "{model} {dtype:?} {}: relative L2 error {}",
                worst.1,
                worst.0
            );
        }
    }
}
