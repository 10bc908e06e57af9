//! Applying the all-reduced gradient: fp16 unscaling and overflow skipping, global-norm clipping,
//! the optimiser step.

use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;

use super::sync::clip_global_norm;
use crate::optim::{Optimizer, ParamTable};
use crate::precision::loss_scale::all_finite;
use crate::precision::{LossScaler, ScaleOutcome};

/// What [`apply_update`] did.
#[derive(Debug, Clone)]
pub(super) struct Update<B: Backend> {
    /// Global gradient norm before clipping (of the unscaled gradient), one element on the
    /// device; `None` when the step was skipped.
    pub(super) grad_norm: Option<Tensor<B, 1>>,
    /// True when an inf/NaN fp16 gradient skipped the optimiser step.
    pub(super) skipped: bool,
    /// The loss scale for the next step (fp16 only).
    pub(super) loss_scale: Option<f64>,
}

/// Unscales the all-reduced gradient (fp16), skips the step on an inf/NaN gradient (the scaler
/// halves its scale; the weights and the optimiser state stay as they are), else clips it by
/// global norm and applies the optimiser step. Every rank sees the same reduced gradient, so every
/// rank takes the same decision. Only the fp16 overflow check reads the device.
#[allow(clippy::too_many_arguments)]
pub(super) fn apply_update<AB, M>(
    model: M,
    optimizer: &mut Optimizer<AB::InnerBackend>,
    table: &ParamTable,
    flat: Tensor<AB::InnerBackend, 1>,
    scaler: Option<&mut LossScaler>,
    max_grad_norm: Option<f64>,
    lr: f64,
) -> (M, Update<AB::InnerBackend>)
where
    AB: AutodiffBackend,
    M: AutodiffModule<AB>,
{
    let (flat, loss_scale) = match scaler {
        None => (flat, None),
        Some(scaler) => {
            let flat = flat.div_scalar(scaler.scale());
            match scaler.update(all_finite(&flat)) {
                ScaleOutcome::Skip { new_scale } => {
                    tracing::warn!(
                        "fp16 gradient overflow (inf/NaN): step skipped, loss scale halved to {new_scale}"
                    );
                    let update = Update {
                        grad_norm: None,
                        skipped: true,
                        loss_scale: Some(new_scale),
                    };
                    return (model, update);
                }
                ScaleOutcome::Apply { grew_to } => {
                    if let Some(scale) = grew_to {
                        tracing::info!("fp16 loss scale grew to {scale}");
                    }
                    (flat, Some(scaler.scale()))
                }
            }
        }
    };
    let (flat, grad_norm) = clip_global_norm(flat, max_grad_norm);
    let model = if on_gpu::<AB::InnerBackend>() {
        optimizer.step_flat(model, table, flat, lr)
    } else {
        optimizer.step(model, &table.unflatten(flat), lr)
    };
    let update = Update {
        grad_norm: Some(grad_norm),
        skipped: false,
        loss_scale,
    };
    (model, update)
}

/// Whether the optimiser takes its flat step (the training loop's): it saves kernel launches on a GPU, while on the CPU the
/// per-tensor step, which updates in place, measured faster (AdamW on the bench model: 74 ms vs 94 ms flat,
/// `examples/optim_bench.rs`, AMD EPYC, 2 cores). Both give the same result (`tests/optim_parity.rs`).
#[cfg(feature = "cuda")]
fn on_gpu<B: Backend>() -> bool {
    crate::gradient_reduce::is_cuda_backend::<B>()
}

#[cfg(not(feature = "cuda"))]
#[allow(clippy::extra_unused_type_parameters)] // the CUDA build's twin uses it
fn on_gpu<B: Backend>() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::module::Module;
    use burn::nn::{Linear, LinearConfig};

    use crate::config::OptimizerKind;
    use crate::optim::OptimizerRule;

    type AB = Autodiff<Flex>;

    #[derive(Module, Debug)]
    struct Tiny<B: burn::tensor::backend::Backend> {
        linear: Linear<B>,
    }

    fn values(model: &Tiny<AB>) -> Vec<f32> {
        let mut v: Vec<f32> = model.linear.weight.val().into_data().to_vec().unwrap();
        v.extend(
            model
                .linear
                .bias
                .as_ref()
                .unwrap()
                .val()
                .into_data()
                .to_vec::<f32>()
                .unwrap(),
        );
        v
    }

    fn setup() -> (Tiny<AB>, ParamTable, Optimizer<Flex>) {
        let device = Default::default();
        let model = Tiny {
            linear: LinearConfig::new(3, 2).init::<AB>(&device),
        };
        let table = ParamTable::of(&model);
        let optimizer =
            Optimizer::<Flex>::new(OptimizerRule::from_config(OptimizerKind::Adamw, 0.0));
        (model, table, optimizer)
    }

    #[test]
    fn simulated_fp16_overflow_skips_the_step_halves_the_scale_and_keeps_the_weights() {
        let (model, table, mut optimizer) = setup();
        let before = values(&model);
        let mut scaler = LossScaler::new(1024.0, 2000);
        let mut grad = vec![0.5f32; table.numel()];
        grad[3] = f32::INFINITY;
        let flat = Tensor::<Flex, 1>::from_floats(grad.as_slice(), &Default::default());
        let (model, update) = apply_update::<AB, _>(
            model,
            &mut optimizer,
            &table,
            flat,
            Some(&mut scaler),
            Some(1.0),
            0.1,
        );
        assert!(update.skipped);
        assert_eq!(update.loss_scale, Some(512.0));
        assert_eq!(scaler.scale(), 512.0);
        assert_eq!(values(&model), before, "weights untouched");
        assert_eq!(optimizer.steps(), 0, "optimiser state untouched");
        assert!(optimizer.export_state().is_empty());
    }

    #[test]
    fn a_finite_scaled_gradient_is_unscaled_before_the_step() {
        let (model, table, mut optimizer) = setup();
        let reference = model.clone();
        let mut reference_optimizer =
            Optimizer::<Flex>::new(OptimizerRule::from_config(OptimizerKind::Adamw, 0.0));
        let grad: Vec<f32> = (0..table.numel()).map(|i| 0.1 * i as f32 - 0.3).collect();
        let device = Default::default();
        let scaled: Vec<f32> = grad.iter().map(|g| g * 1024.0).collect();
        let mut scaler = LossScaler::new(1024.0, 2000);
        let (model, update) = apply_update::<AB, _>(
            model,
            &mut optimizer,
            &table,
            Tensor::from_floats(scaled.as_slice(), &device),
            Some(&mut scaler),
            None,
            0.1,
        );
        let (reference, plain) = apply_update::<AB, _>(
            reference,
            &mut reference_optimizer,
            &table,
            Tensor::from_floats(grad.as_slice(), &device),
            None,
            None,
            0.1,
        );
        assert!(!update.skipped);
        let norm = |u: Update<Flex>| u.grad_norm.unwrap().into_scalar();
        assert!((norm(update) - norm(plain)).abs() < 1e-6);
        assert_eq!(values(&model), values(&reference));
    }
}
