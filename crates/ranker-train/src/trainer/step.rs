//! One optimiser step: prepare this rank's micro-batches, forward + backward each of them (in
//! chunks of at most `train.max_pairs_per_forward` pairs, in `train.precision`), then all-reduce,
//! clip and apply the summed gradient.
//!
//! The loss and the gradient norm stay on the device until the step's work is queued; one read
//! then fetches both for the step's record (fp16's overflow check is the only earlier read).

use std::time::Instant;

use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;
use ranker_dist::ReduceOp;

use super::prefetch::StepBatches;
use super::run::Trainer;
use super::sync::all_reduce_gradients;
use super::update::{apply_update, Update};
use crate::batches::mix;
use crate::error::TrainError;
use crate::memory::peak_rss_mib;
use crate::metrics_log::StepRecord;
use crate::precision::LossScaler;
use crate::task::{Prepared, RankerTask};

/// Separates the dropout seeds from the other streams derived from `run.seed`.
const DROPOUT_STREAM: u64 = 0x6472_6f70; // "drop"

/// What one optimiser step produced.
pub(super) struct StepOutcome {
    /// The step's record (loss, learning rate, gradient norm, throughput).
    pub(super) record: StepRecord,
    /// Some rank received a checkpoint request (SIGUSR1): save this step and stop.
    pub(super) stop_requested: bool,
}

/// What the ranks agree on before a step's backward passes.
struct StepAgreement {
    /// The loss units (pairs or examples) of the step over all ranks.
    global_units: f64,
    /// Whether any rank has a pending checkpoint request.
    stop_requested: bool,
}

/// The gradient summed over this rank's micro-batches, flat in parameter-table order.
pub(super) struct LocalGradient<B: AutodiffBackend> {
    flat: Option<Tensor<B::InnerBackend, 1>>,
    /// This rank's share of the step's mean loss (one element, on the device).
    loss_share: Option<Tensor<B::InnerBackend, 1>>,
}

impl<B: AutodiffBackend> LocalGradient<B> {
    fn new() -> Self {
        Self {
            flat: None,
            loss_share: None,
        }
    }

    fn add(&mut self, flat: Tensor<B::InnerBackend, 1>, loss_share: Tensor<B::InnerBackend, 1>) {
        self.flat = Some(sum(self.flat.take(), flat));
        self.loss_share = Some(sum(self.loss_share.take(), loss_share));
    }
}

fn sum<T: std::ops::Add<Output = T>>(acc: Option<T>, value: T) -> T {
    match acc {
        Some(acc) => acc + value,
        None => value,
    }
}

impl<B, T> Trainer<'_, B, T>
where
    B: AutodiffBackend,
    T: RankerTask<B>,
{
    /// Takes the next optimiser step.
    pub(super) fn step(&mut self) -> Result<StepOutcome, TrainError> {
        let started = Instant::now();
        let micros = self.prepare_micro_batches()?;
        let agreement = self.agree(&micros)?;
        let mut gradient = LocalGradient::<B>::new();
        for (m, micro) in micros.into_iter().enumerate() {
            if let Some(micro) = micro.filter(|m| m.units() > 0) {
                self.forward_backward(micro, m, agreement.global_units, &mut gradient);
            }
        }
        let (loss, update, lr) = self.apply_gradients(gradient)?;
        let (loss, grad_norm) = read_loss_and_norm(loss, update.grad_norm);
        self.steps_done += 1;
        let step = self.steps_done;
        let record = StepRecord {
            step,
            epoch: step as f64 / self.plan.steps_per_epoch as f64,
            loss,
            lr,
            grad_norm,
            pairs_per_s: agreement.global_units / started.elapsed().as_secs_f64().max(1e-9),
            peak_rss_mib: peak_rss_mib(),
            loss_scale: update.loss_scale,
            skipped: update.skipped,
        };
        Ok(StepOutcome {
            record,
            stop_requested: agreement.stop_requested,
        })
    }

    /// This rank's micro-batches of the next step (`None` where its slice is empty); the step
    /// after it starts preparing on the prefetch thread.
    fn prepare_micro_batches(&mut self) -> Result<StepBatches<T::Micro>, TrainError> {
        let step = self.steps_done;
        let next = (step + 1 < self.plan.total_steps).then_some(step + 1);
        self.batches.take(step, next)
    }

    /// The ranks agree on the step's loss units and on a pending checkpoint request (one small
    /// all-reduce).
    fn agree(&mut self, micros: &[Option<T::Micro>]) -> Result<StepAgreement, TrainError> {
        let local_units: usize = micros.iter().flatten().map(Prepared::units).sum();
        let requested = ranker_dist::signals::checkpoint_requested();
        let mut head = [local_units as f32, f32::from(u8::from(requested))];
        if self.plan.layout.world > 1 {
            self.pg.collective().all_reduce(&mut head, ReduceOp::Sum)?;
        }
        Ok(StepAgreement {
            global_units: f64::from(head[0]),
            stop_requested: head[1] > 0.0,
        })
    }

    /// Forward and backward over micro-batch `m` of the step, `train.max_pairs_per_forward` loss
    /// units at a time: each chunk's mean loss, weighted by its share of the step's `global_units`
    /// (and multiplied by the fp16 loss scale), is back-propagated and its gradient added to
    /// `gradient`. The chunks' weighted losses sum to the micro-batch's, so chunking changes how the
    /// gradient is computed, not what it is.
    fn forward_backward(
        &self,
        micro: T::Micro,
        m: usize,
        global_units: f64,
        gradient: &mut LocalGradient<B>,
    ) {
        // Host dropout masks: keyed by the step and each row's global identity (example, pair or
        // candidate), not by the rank, micro-batch or chunk, so N ranks × batch b draw what 1 rank ×
        // batch N·b draws, chunked or not. The backend's RNG (SummaReranker's gate noise, dropout
        // on CUDA): a fresh, reproducible stream per rank and micro-step.
        let seed = self.config.run.seed;
        let step_seed = mix(mix(seed, DROPOUT_STREAM), self.steps_done);
        let micro_index = self.steps_done * self.config.train.grad_accum as u64 + m as u64;
        B::seed(
            self.device,
            mix(mix(seed, self.plan.rank as u64 + 1), micro_index),
        );
        let chunks = match self.config.train.max_pairs_per_forward {
            Some(max_units) => micro.split(max_units),
            None => vec![micro],
        };
        let loss_scale = self.scaler.as_ref().map_or(1.0, LossScaler::scale);
        let model = self.model();
        for chunk in chunks {
            ranker_models::dropout::seed_dropout_rows(step_seed, chunk.dropout_rows());
            let loss = if self.mixed.is_mixed() {
                let compute = self.mixed.compute_model(model.clone());
                self.task.loss(&compute, &chunk, self.device)
            } else {
                self.task.loss(model, &chunk, self.device)
            };
            let share = loss.mul_scalar(chunk.units() as f64 / global_units);
            let loss_share = share.clone().inner().reshape([1]);
            let scaled = if loss_scale == 1.0 {
                share
            } else {
                share.mul_scalar(loss_scale)
            };
            // Gradients of the f32 master parameters: a mixed-precision view's casts carry them back.
            let grads = GradientsParams::from_grads(scaled.backward(), model);
            let flat = self
                .plan
                .table
                .flatten::<B::InnerBackend>(&grads, self.device);
            gradient.add(flat, loss_share);
        }
    }

    /// Sums the gradient over the ranks (in f32) and applies it ([`apply_update`]: fp16 unscaling
    /// and overflow skipping, clipping, the optimiser step); returns the step's mean loss (on the
    /// device), what the update did and the learning rate used.
    #[allow(clippy::type_complexity)]
    fn apply_gradients(
        &mut self,
        gradient: LocalGradient<B>,
    ) -> Result<(Tensor<B::InnerBackend, 1>, Update<B::InnerBackend>, f64), TrainError> {
        let table = &self.plan.table;
        let flat = gradient
            .flat
            .unwrap_or_else(|| Tensor::zeros([table.numel()], self.device));
        let loss_share = gradient
            .loss_share
            .unwrap_or_else(|| Tensor::zeros([1], self.device));
        let reduced = all_reduce_gradients(
            flat,
            loss_share,
            self.pg.collective(),
            self.config.dist.bucket_mb,
            self.device,
        )?;
        if self.steps_done == self.start_step {
            tracing::info!("gradient all-reduce: {}", reduced.path);
        }
        let lr = self.plan.schedule.lr(self.steps_done);
        let model = self
            .model
            .take()
            .expect("the model is only taken inside a step");
        let (model, update) = apply_update::<B, _>(
            model,
            &mut self.optimizer,
            table,
            reduced.flat,
            self.scaler.as_mut(),
            self.config.train.max_grad_norm,
            lr,
        );
        self.model = Some(model);
        Ok((reduced.loss_share, update, lr))
    }
}

/// The step's mean loss and gradient norm (NaN for a skipped step), in one read from the device.
fn read_loss_and_norm<B: Backend>(
    loss: Tensor<B, 1>,
    grad_norm: Option<Tensor<B, 1>>,
) -> (f64, f64) {
    let parts = std::iter::once(loss).chain(grad_norm).collect();
    let values = Tensor::cat(parts, 0)
        .into_data()
        .convert::<f64>()
        .into_vec::<f64>()
        .expect("f64 data");
    (values[0], values.get(1).copied().unwrap_or(f64::NAN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn one_read_brings_the_loss_and_the_norm_or_nan_for_a_skipped_step() {
        let device = Default::default();
        let loss = Tensor::<Flex, 1>::from_floats([0.25], &device);
        let norm = Tensor::from_floats([3.0], &device);
        assert_eq!(read_loss_and_norm(loss.clone(), Some(norm)), (0.25, 3.0));
        let (loss, norm) = read_loss_and_norm(loss, None);
        assert_eq!(loss, 0.25);
        assert!(norm.is_nan());
    }
}
