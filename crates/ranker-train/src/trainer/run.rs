//! The loop itself, generic over the ranker ([`RankerTask`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use burn::optim::GradientsParams;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Tensor};
use ranker_data::atomic::AtomicFile;
use ranker_data::{Dataset, Example};
use ranker_dist::{ProcessGroup, ReduceOp};

use super::sync::{all_reduce_gradients, clip_global_norm, fingerprint, sync_parameters};
use super::{Resume, TrainObserver};
use crate::batches::{mix, BatchLayout, EpochOrder};
use crate::checkpoints::{BestScore, Checkpoints, TrainerState, OPTIMIZER_FILE};
use crate::config::Config;
use crate::data::{load_split, require_split, Split};
use crate::error::TrainError;
use crate::metrics_log::{EvalRecord, MetricsLog, StepRecord};
use crate::optim::{LrSchedule, Optimizer, OptimizerRule, ParamTable};
use crate::plot::line_chart;
use crate::run_dir::RunDir;
use crate::task::{Prepared, RankerTask};

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

struct Setup<'a> {
    config: &'a Config,
    rank: usize,
    layout: BatchLayout,
    steps_per_epoch: u64,
    total_steps: u64,
    table: ParamTable,
    fingerprint: String,
    checkpoints: Checkpoints,
    run_dir: RunDir,
}

pub(super) fn run<B, T>(
    config: &Config,
    task: T,
    model: T::Model,
    pg: &mut ProcessGroup,
    device: &B::Device,
    resume: Resume,
    observer: &mut dyn TrainObserver,
) -> Result<TrainSummary, TrainError>
where
    B: AutodiffBackend,
    T: RankerTask<B>,
{
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
    let setup = Setup {
        config,
        rank: pg.rank(),
        layout,
        steps_per_epoch,
        total_steps,
        fingerprint: fingerprint(&table),
        table,
        checkpoints: Checkpoints::new(run_dir.checkpoints(), t.keep_last),
        run_dir,
    };
    let main = setup.rank == 0;
    if main {
        prepare_run_dir(&setup)?;
    }
    pg.collective().barrier()?;

    let mut optimizer =
        Optimizer::<B::InnerBackend>::new(OptimizerRule::from_config(t.optimizer, t.weight_decay));
    let (model, start) = restore(&setup, &task, model, &mut optimizer, resume, device)?;
    let mut model = sync_parameters::<B, T::Model>(model, &setup.table, pg.collective(), device)?;
    let mut metrics = if main {
        Some(MetricsLog::open(
            &setup.run_dir.metrics(),
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

    let schedule = LrSchedule::new(t.schedule, t.lr, t.warmup_ratio, total_steps);
    let mut summary = TrainSummary {
        steps: start.step,
        total_steps,
        final_loss: None,
        losses: Vec::new(),
        best: start.best,
        output_dir: setup.run_dir.root().to_path_buf(),
        last_checkpoint: start.checkpoint,
        stopped_on_request: false,
    };
    observer.started(start.step, total_steps);
    let mut order: Option<(usize, EpochOrder)> = None;
    let mut step = start.step;
    while step < total_steps {
        let started = Instant::now();
        let epoch = (step / steps_per_epoch) as usize;
        let step_in_epoch = (step % steps_per_epoch) as usize;
        if order.as_ref().is_none_or(|(e, _)| *e != epoch) {
            let n = train_set.examples.len();
            order = Some((epoch, EpochOrder::new(n, config.run.seed, epoch)));
        }
        let (_, epoch_order) = order.as_ref().expect("set above");
        let micros = prepare_step(&setup, &task, &train_set, epoch_order, epoch, step_in_epoch)?;

        // The ranks agree on the step's loss units and on a pending checkpoint request.
        let local_units: usize = micros.iter().flatten().map(Prepared::units).sum();
        let requested = ranker_dist::signals::checkpoint_requested();
        let mut head = [local_units as f32, f32::from(u8::from(requested))];
        if layout.world > 1 {
            pg.collective().all_reduce(&mut head, ReduceOp::Sum)?;
        }
        let global_units = f64::from(head[0]);
        let stop = head[1] > 0.0;

        let mut flat: Option<Tensor<B::InnerBackend, 1>> = None;
        let mut loss_share = 0.0;
        for (m, micro) in micros.iter().enumerate() {
            let Some(micro) = micro.as_ref().filter(|m| m.units() > 0) else {
                continue;
            };
            // Dropout and gate noise: a fresh, reproducible stream per rank and micro-step.
            let micro_index = step * t.grad_accum as u64 + m as u64;
            let micro_seed = mix(mix(config.run.seed, setup.rank as u64 + 1), micro_index);
            B::seed(device, micro_seed);
            ranker_models::dropout::seed_dropout(micro_seed);
            let loss = task.loss(&model, micro, device);
            let scaled = loss.mul_scalar(micro.units() as f64 / global_units);
            loss_share += scaled.clone().into_scalar().elem::<f64>();
            let grads = GradientsParams::from_grads(scaled.backward(), &model);
            let g = setup.table.flatten::<B::InnerBackend>(&grads, device);
            flat = Some(match flat {
                Some(acc) => acc + g,
                None => g,
            });
        }
        let flat = flat.unwrap_or_else(|| Tensor::zeros([setup.table.numel()], device));
        let reduced = all_reduce_gradients(
            flat,
            loss_share,
            pg.collective(),
            config.dist.bucket_mb,
            device,
        )?;
        if step == start.step {
            tracing::info!("gradient all-reduce: {}", reduced.path);
        }
        let loss = reduced.loss_share;
        let (flat, grad_norm) = clip_global_norm(reduced.flat, t.max_grad_norm);
        let lr = schedule.lr(step);
        model = optimizer.step(model, &setup.table.unflatten(flat), lr);
        step += 1;

        let record = StepRecord {
            step,
            epoch: step as f64 / steps_per_epoch as f64,
            loss,
            lr,
            grad_norm,
            pairs_per_s: global_units / started.elapsed().as_secs_f64().max(1e-9),
        };
        summary.steps = step;
        summary.final_loss = Some(loss);
        summary.losses.push(loss);
        observer.step(&record, total_steps);
        if step == 1 || step % t.log_every as u64 == 0 || step == total_steps {
            if let Some(log) = metrics.as_mut() {
                log.log_step(&record)?;
            }
            pg.heartbeat(step)?;
        }

        let epoch_end = step % steps_per_epoch == 0;
        let last = step == total_steps;
        let eval_now = dev_set.is_some()
            && (epoch_end || last || t.eval_every.is_some_and(|e| step % e as u64 == 0));
        let save_now = eval_now
            || epoch_end
            || last
            || stop
            || t.save_every.is_some_and(|s| step % s as u64 == 0);
        let mut new_best = false;
        if let Some(dev) = dev_set.as_ref().filter(|_| eval_now) {
            let selection = task.evaluate(&model, dev, pg.collective(), step, device)?;
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
            if let Some(log) = metrics.as_mut() {
                log.log_eval(&eval)?;
            }
            observer.evaluated(&eval);
            let improves = selection.dev_score.is_finite()
                && summary
                    .best
                    .is_none_or(|b| selection.dev_score > b.dev_score);
            if improves {
                summary.best = Some(BestScore {
                    step,
                    dev_score: selection.dev_score,
                });
                new_best = true;
            }
        }
        if save_now {
            if main {
                let dir = save_checkpoint(&setup, &task, &model, &optimizer, step, summary.best)?;
                if new_best {
                    setup.checkpoints.mark_best(step)?;
                }
                setup.checkpoints.prune()?;
                summary.last_checkpoint = Some(dir);
            } else {
                summary.last_checkpoint = Some(setup.checkpoints.step_dir(step));
            }
            pg.collective().barrier()?;
        }
        if stop {
            tracing::warn!(
                "checkpoint requested: saved step {step}, stopping so the job can be requeued"
            );
            summary.stopped_on_request = true;
            break;
        }
    }
    if main {
        draw_plots(&setup.run_dir)?;
    }
    observer.finished();
    Ok(summary)
}

fn prepare_run_dir(setup: &Setup<'_>) -> Result<(), TrainError> {
    let dir = &setup.run_dir;
    for path in [dir.root().to_path_buf(), dir.logs(), dir.checkpoints()] {
        std::fs::create_dir_all(&path).map_err(|source| TrainError::Io { path, source })?;
    }
    setup.checkpoints.remove_stale_temporaries()?;
    let path = dir.config();
    let mut file = AtomicFile::create(&path)?;
    std::io::Write::write_all(&mut file, setup.config.to_yaml().as_bytes()).map_err(|source| {
        TrainError::Io {
            path: path.clone(),
            source,
        }
    })?;
    file.commit()?;
    Ok(())
}

struct Start {
    step: u64,
    best: Option<BestScore>,
    checkpoint: Option<PathBuf>,
}

/// Loads the newest complete checkpoint when there is one (or fails when `--resume` demands one).
fn restore<B, T>(
    setup: &Setup<'_>,
    task: &T,
    model: T::Model,
    optimizer: &mut Optimizer<B::InnerBackend>,
    resume: Resume,
    device: &B::Device,
) -> Result<(T::Model, Start), TrainError>
where
    B: AutodiffBackend,
    T: RankerTask<B>,
{
    let Some((_, dir)) = setup.checkpoints.latest()? else {
        if resume == Resume::Required {
            return Err(TrainError::Setup {
                key: "--resume",
                message: format!(
                    "no complete checkpoint under {}",
                    setup
                        .checkpoints
                        .step_dir(0)
                        .parent()
                        .unwrap_or(setup.run_dir.root())
                        .display()
                ),
            });
        }
        return Ok((
            model,
            Start {
                step: 0,
                best: None,
                checkpoint: None,
            },
        ));
    };
    let state = Checkpoints::read_state(&dir)?;
    let mismatch = |message: String| TrainError::Checkpoint {
        path: dir.clone(),
        message,
    };
    if state.model_fingerprint != setup.fingerprint {
        return Err(mismatch(
            "was written for another model (parameter names or shapes differ from model.backbone / model.ranker)"
                .into(),
        ));
    }
    if state.global_batch != setup.layout.global_examples() {
        return Err(mismatch(format!(
            "was trained with {} examples per step; ranks × train.per_device_batch × train.grad_accum now gives {}",
            state.global_batch,
            setup.layout.global_examples()
        )));
    }
    if state.seed != setup.config.run.seed {
        return Err(mismatch(format!(
            "was trained with run.seed {}; the config now says {}",
            state.seed, setup.config.run.seed
        )));
    }
    if state.steps_per_epoch != setup.steps_per_epoch {
        return Err(mismatch(format!(
            "has {} steps per epoch; the training set now gives {}",
            state.steps_per_epoch, setup.steps_per_epoch
        )));
    }
    let model = task.load_weights(model, &dir, device)?;
    let tensors: HashMap<_, _> = ranker_models::read_safetensors(&dir.join(OPTIMIZER_FILE))?
        .into_iter()
        .collect();
    optimizer
        .import_state(state.step, &setup.table, tensors, device)
        .map_err(|source| TrainError::OptimizerState {
            path: dir.clone(),
            source,
        })?;
    tracing::info!("resuming from {} (step {})", dir.display(), state.step);
    Ok((
        model,
        Start {
            step: state.step,
            best: state.best,
            checkpoint: Some(dir),
        },
    ))
}

type Micros<M> = Vec<Option<M>>;

/// This rank's micro-batches of one optimiser step.
fn prepare_step<B, T>(
    setup: &Setup<'_>,
    task: &T,
    train_set: &Dataset,
    order: &EpochOrder,
    epoch: usize,
    step_in_epoch: usize,
) -> Result<Micros<T::Micro>, TrainError>
where
    B: AutodiffBackend,
    T: RankerTask<B>,
{
    let epoch_seed = mix(setup.config.run.seed, epoch as u64);
    let example_seed = move |index: usize| mix(epoch_seed, index as u64);
    (0..setup.layout.grad_accum)
        .map(|micro| {
            let indices = order.slice(&setup.layout, step_in_epoch, micro, setup.rank);
            if indices.is_empty() {
                return Ok(None);
            }
            let examples: Vec<(usize, &Example)> = indices
                .iter()
                .map(|&i| (i, &train_set.examples[i]))
                .collect();
            task.prepare(&examples, &example_seed).map(Some)
        })
        .collect()
}

fn save_checkpoint<B, T>(
    setup: &Setup<'_>,
    task: &T,
    model: &T::Model,
    optimizer: &Optimizer<B::InnerBackend>,
    step: u64,
    best: Option<BestScore>,
) -> Result<PathBuf, TrainError>
where
    B: AutodiffBackend,
    T: RankerTask<B>,
{
    let state = TrainerState {
        version: TrainerState::VERSION,
        step,
        epoch: (step / setup.steps_per_epoch) as usize,
        step_in_epoch: (step % setup.steps_per_epoch) as usize,
        steps_per_epoch: setup.steps_per_epoch,
        total_steps: setup.total_steps,
        seed: setup.config.run.seed,
        global_batch: setup.layout.global_examples(),
        best,
        model_fingerprint: setup.fingerprint.clone(),
        metrics: setup.config.data.metrics.clone(),
        train_data: setup
            .config
            .data
            .train
            .as_ref()
            .map(|p| p.display().to_string()),
    };
    let dir = setup.checkpoints.save(step, &state, |dir| {
        task.save(model, dir)?;
        ranker_models::write_safetensors(&dir.join(OPTIMIZER_FILE), &optimizer.export_state())?;
        Ok(())
    })?;
    tracing::info!("saved {}", dir.display());
    Ok(dir)
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
