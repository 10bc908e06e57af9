//! The [`Trainer`]: its state, and the loop read as an outline.

use std::path::PathBuf;
use std::sync::Arc;

use burn::tensor::backend::AutodiffBackend;
use ranker_data::Dataset;
use ranker_dist::ProcessGroup;

use super::{Resume, TrainObserver};
use crate::batches::BatchLayout;
use crate::checkpoints::{BestScore, Checkpoints};
use crate::config::{Config, Precision};
use crate::data::{load_split, require_split, Split};
use crate::error::TrainError;
use crate::metrics_log::{EvalRecord, MetricsLog, StepRecord};
use crate::optim::{LrSchedule, Optimizer, OptimizerRule, ParamTable};
use crate::plot::line_chart;
use crate::precision::{LossScaler, MixedPrecision};
use crate::run_dir::RunDir;
use crate::task::RankerTask;

use super::prefetch::{BatchSource, Prefetcher};
use super::sync::{fingerprint, sync_parameters};

/// How a training run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSummary {
    /// Optimiser steps taken in total (including those before a resume).
    pub steps: u64,
    /// Steps of the whole schedule.
    pub total_steps: u64,
    /// Mean loss of the last step taken by this process (None when it took none).
    pub final_loss: Option<f64>,
    /// Per-step losses of the steps this process took, in order.
    pub losses: Vec<f64>,
    /// Best dev score and its step.
    pub best: Option<BestScore>,
    /// The run directory.
    pub output_dir: PathBuf,
    /// The newest checkpoint written or resumed from.
    pub last_checkpoint: Option<PathBuf>,
    /// True when a checkpoint request (SIGUSR1) ended the run early.
    pub stopped_on_request: bool,
}

/// The fixed shape of a run: who this rank is, how big a step is and how many there are.
pub(super) struct Plan {
    pub(super) rank: usize,
    pub(super) layout: BatchLayout,
    pub(super) steps_per_epoch: u64,
    pub(super) total_steps: u64,
    pub(super) table: ParamTable,
    pub(super) fingerprint: String,
    pub(super) checkpoints: Checkpoints,
    pub(super) run_dir: RunDir,
    pub(super) schedule: LrSchedule,
}

impl Plan {
    pub(super) fn is_main(&self) -> bool {
        self.rank == 0
    }
}

/// One training run of ranker task `T` on this rank.
pub(super) struct Trainer<'a, B: AutodiffBackend, T: RankerTask<B>> {
    pub(super) config: &'a Config,
    /// Shared with the batch preparation thread.
    pub(super) task: Arc<T>,
    /// Always `Some` between calls: the optimiser takes the model by value and gives it back.
    pub(super) model: Option<T::Model>,
    pub(super) optimizer: Optimizer<B::InnerBackend>,
    /// The compute dtype of forward and backward (`train.precision`); the model above stays f32.
    pub(super) mixed: MixedPrecision,
    /// fp16's dynamic loss scaler.
    pub(super) scaler: Option<LossScaler>,
    pub(super) pg: &'a mut ProcessGroup,
    pub(super) device: &'a B::Device,
    pub(super) observer: &'a mut dyn TrainObserver,
    pub(super) plan: Plan,
    /// This rank's micro-batches, prepared one step ahead.
    pub(super) batches: Prefetcher<T::Micro>,
    pub(super) dev_set: Option<Dataset>,
    /// Rank 0's `metrics.jsonl`.
    pub(super) metrics: Option<MetricsLog>,
    /// Steps completed so far (including those before a resume).
    pub(super) steps_done: u64,
    /// The step the run started (or resumed) at.
    pub(super) start_step: u64,
    pub(super) summary: TrainSummary,
}

impl<'a, B, T> Trainer<'a, B, T>
where
    B: AutodiffBackend,
    T: RankerTask<B>,
{
    /// Loads the data, prepares the run directory (rank 0), restores the newest checkpoint when
    /// there is one and makes every rank's parameters rank 0's.
    pub(super) fn new(
        config: &'a Config,
        task: T,
        model: T::Model,
        pg: &'a mut ProcessGroup,
        device: &'a B::Device,
        resume: Resume,
        observer: &'a mut dyn TrainObserver,
    ) -> Result<Self, TrainError> {
        let train_set = require_split(config, Split::Train)?;
        let dev_set = load_split(config, Split::Dev)?;
        if dev_set.is_none() {
            tracing::warn!("no data.dev: no evaluation during training and no `best` checkpoint");
        }
        let t = &config.train;
        let layout = BatchLayout {
            world: pg.world_size(),
            per_device_batch: t.per_device_batch,
            grad_accum: t.grad_accum,
        };
        let steps_per_epoch = layout.steps_per_epoch(train_set.examples.len()) as u64;
        let total_steps = match t.max_steps {
            Some(steps) => steps as u64,
            None => steps_per_epoch * t.epochs as u64,
        };
        let table = ParamTable::of(&model);
        let run_dir = RunDir::new(config.output_dir());
        let plan = Plan {
            rank: pg.rank(),
            layout,
            steps_per_epoch,
            total_steps,
            fingerprint: fingerprint(&table),
            table,
            checkpoints: Checkpoints::new(run_dir.checkpoints(), t.keep_last),
            run_dir,
            schedule: LrSchedule::new(t.schedule, t.lr, t.warmup_ratio, total_steps),
        };
        if plan.is_main() {
            super::checkpointing::prepare_run_dir(config, &plan)?;
        }
        pg.collective().barrier()?;

        let mut optimizer = Optimizer::<B::InnerBackend>::new(OptimizerRule::from_config(
            t.optimizer,
            t.weight_decay,
        ));
        let (model, start) = super::checkpointing::restore(
            config,
            &plan,
            &task,
            model,
            &mut optimizer,
            resume,
            device,
        )?;
        let scaler = (t.precision == Precision::Fp16).then(|| {
            let mut scaler = LossScaler::default();
            if let Some(state) = start.loss_scale {
                scaler.restore(state);
            }
            scaler
        });
        let model = sync_parameters::<B, T::Model>(model, &plan.table, pg.collective(), device)?;
        let metrics = if plan.is_main() {
            Some(MetricsLog::open(
                &plan.run_dir.metrics(),
                (start.step > 0).then_some(start.step),
            )?)
        } else {
            None
        };
        tracing::info!(
            "{}: {} training examples, {} per step over {} rank(s), {} steps per epoch, {} steps",
            task.name(),
            train_set.examples.len(),
            layout.global_examples(),
            layout.world,
            steps_per_epoch,
            total_steps
        );
        let summary = TrainSummary {
            steps: start.step,
            total_steps,
            final_loss: None,
            losses: Vec::new(),
            best: start.best,
            output_dir: plan.run_dir.root().to_path_buf(),
            last_checkpoint: start.checkpoint,
            stopped_on_request: false,
        };
        let task = Arc::new(task);
        let mut source = BatchSource::new(Arc::clone(&task), train_set, &plan, config.run.seed);
        let batches = Prefetcher::start(move |step| source.prepare(step))?;
        Ok(Self {
            config,
            task,
            model: Some(model),
            optimizer,
            mixed: MixedPrecision::new(t.precision),
            scaler,
            pg,
            device,
            observer,
            plan,
            batches,
            dev_set,
            metrics,
            steps_done: start.step,
            start_step: start.step,
            summary,
        })
    }

    /// Trains to the end of the schedule, or until a checkpoint request has been saved.
    pub(super) fn run(mut self) -> Result<TrainSummary, TrainError> {
        self.observer
            .started(self.steps_done, self.plan.total_steps);
        while self.steps_done < self.plan.total_steps {
            let step = self.step()?;
            self.record_step(&step.record)?;
            let new_best = self.maybe_evaluate(&step.record)?;
            self.maybe_save(new_best, step.stop_requested)?;
            if step.stop_requested {
                tracing::warn!(
                    "checkpoint requested: saved step {}, stopping so the job can be requeued",
                    self.steps_done
                );
                self.summary.stopped_on_request = true;
                break;
            }
        }
        self.finish()
    }

    pub(super) fn model(&self) -> &T::Model {
        self.model
            .as_ref()
            .expect("the model is only taken inside a step")
    }

    /// Logs a finished step (metrics file on rank 0 every `train.log_every` steps, with a heartbeat
    /// to the launcher) and reports it to the observer.
    fn record_step(&mut self, record: &StepRecord) -> Result<(), TrainError> {
        let step = record.step;
        self.summary.steps = step;
        self.summary.final_loss = Some(record.loss);
        self.summary.losses.push(record.loss);
        self.observer.step(record, self.plan.total_steps);
        if step == 1
            || step.is_multiple_of(self.config.train.log_every as u64)
            || step == self.plan.total_steps
        {
            if let Some(log) = self.metrics.as_mut() {
                log.log_step(record)?;
            }
            self.pg.heartbeat(step)?;
        }
        Ok(())
    }

    fn epoch_ends(&self) -> bool {
        self.steps_done.is_multiple_of(self.plan.steps_per_epoch)
    }

    fn is_last_step(&self) -> bool {
        self.steps_done == self.plan.total_steps
    }

    /// Whether the step just taken is followed by a dev evaluation: at each epoch end, at the last
    /// step and every `train.eval_every` steps, when there is a dev set.
    fn evaluation_due(&self) -> bool {
        let step = self.steps_done;
        self.dev_set.is_some()
            && (self.epoch_ends()
                || self.is_last_step()
                || self
                    .config
                    .train
                    .eval_every
                    .is_some_and(|e| step.is_multiple_of(e as u64)))
    }

    /// Whether the step just taken is saved: after every evaluation, at each epoch end, at the last
    /// step, on a checkpoint request and every `train.save_every` steps.
    fn save_due(&self, stop_requested: bool) -> bool {
        let step = self.steps_done;
        self.evaluation_due()
            || self.epoch_ends()
            || self.is_last_step()
            || stop_requested
            || self
                .config
                .train
                .save_every
                .is_some_and(|s| step.is_multiple_of(s as u64))
    }

    /// Evaluates on the dev set when due; returns whether the score is a new best.
    fn maybe_evaluate(&mut self, record: &StepRecord) -> Result<bool, TrainError> {
        if !self.evaluation_due() {
            return Ok(false);
        }
        let Some(dev) = self.dev_set.as_ref() else {
            return Ok(false);
        };
        let step = self.steps_done;
        let model = self
            .model
            .as_ref()
            .expect("the model is only taken inside a step");
        let selection = self
            .task
            .evaluate(model, dev, self.pg.collective(), step, self.device)?;
        let eval = EvalRecord {
            step,
            epoch: record.epoch,
            dev_score: selection.dev_score,
            metrics: selection
                .log_fields()
                .into_iter()
                .filter(|(name, _)| name != "dev_score")
                .collect(),
        };
        if let Some(log) = self.metrics.as_mut() {
            log.log_eval(&eval)?;
        }
        self.observer.evaluated(&eval);
        let improves = selection.dev_score.is_finite()
            && self
                .summary
                .best
                .is_none_or(|b| selection.dev_score > b.dev_score);
        if improves {
            self.summary.best = Some(BestScore {
                step,
                dev_score: selection.dev_score,
            });
        }
        Ok(improves)
    }

    /// Saves a checkpoint when due (rank 0 writes, every rank waits for it).
    fn maybe_save(&mut self, new_best: bool, stop_requested: bool) -> Result<(), TrainError> {
        if !self.save_due(stop_requested) {
            return Ok(());
        }
        let step = self.steps_done;
        if self.plan.is_main() {
            let dir = super::checkpointing::save_checkpoint(
                self.config,
                &self.plan,
                self.task.as_ref(),
                self.model(),
                &self.optimizer,
                super::checkpointing::SavePoint {
                    step,
                    best: self.summary.best,
                    loss_scale: self.scaler.as_ref().map(LossScaler::state),
                },
            )?;
            if new_best {
                self.plan.checkpoints.mark_best(step)?;
            }
            self.plan.checkpoints.prune()?;
            self.summary.last_checkpoint = Some(dir);
        } else {
            self.summary.last_checkpoint = Some(self.plan.checkpoints.step_dir(step));
        }
        self.pg.collective().barrier()?;
        Ok(())
    }

    /// Draws the training curves (rank 0) and reports the end.
    fn finish(self) -> Result<TrainSummary, TrainError> {
        if self.plan.is_main() {
            draw_plots(&self.plan.run_dir)?;
        }
        self.observer.finished();
        Ok(self.summary)
    }
}

fn draw_plots(run_dir: &RunDir) -> Result<(), TrainError> {
    let metrics = run_dir.metrics();
    let loss = crate::metrics_log::read_series(&metrics, "loss")?;
    line_chart(&run_dir.loss_plot(), "training loss", "loss", &loss)?;
    let dev = crate::metrics_log::read_series(&metrics, "dev_score")?;
    if !dev.is_empty() {
        line_chart(&run_dir.dev_score_plot(), "dev score", "dev_score", &dev)?;
    }
    Ok(())
}
