//! The run directory at start, resuming from the newest checkpoint, and writing a checkpoint.

use std::collections::HashMap;
use std::path::PathBuf;

use burn::tensor::backend::AutodiffBackend;
use ranker_data::atomic::AtomicFile;

use super::run::Plan;
use super::Resume;
use crate::checkpoints::{BestScore, Checkpoints, TrainerState, OPTIMIZER_FILE};
use crate::config::Config;
use crate::error::TrainError;
use crate::optim::Optimizer;
use crate::precision::LossScaleState;
use crate::task::RankerTask;

/// Creates the run directory, removes temporaries a killed run left behind and writes the
/// effective config (rank 0).
pub(super) fn prepare_run_dir(config: &Config, plan: &Plan) -> Result<(), TrainError> {
    let dir = &plan.run_dir;
    for path in [dir.root().to_path_buf(), dir.logs(), dir.checkpoints()] {
        std::fs::create_dir_all(&path).map_err(|source| TrainError::Io { path, source })?;
    }
    plan.checkpoints.remove_stale_temporaries()?;
    let path = dir.config();
    let mut file = AtomicFile::create(&path)?;
    std::io::Write::write_all(&mut file, config.to_yaml().as_bytes()).map_err(|source| {
        TrainError::Io {
            path: path.clone(),
            source,
        }
    })?;
    file.commit()?;
    Ok(())
}

/// Where a run starts.
pub(super) struct Start {
    pub(super) step: u64,
    pub(super) best: Option<BestScore>,
    pub(super) checkpoint: Option<PathBuf>,
    /// The fp16 loss scaler's state at the checkpoint.
    pub(super) loss_scale: Option<LossScaleState>,
}

/// Loads the newest complete checkpoint when there is one (or fails when `--resume` demands one).
pub(super) fn restore<B, T>(
    config: &Config,
    plan: &Plan,
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
    let Some((_, dir)) = plan.checkpoints.latest()? else {
        if resume == Resume::Required {
            return Err(TrainError::Setup {
                key: "--resume",
                message: format!(
                    "no complete checkpoint under {}",
                    plan.run_dir.checkpoints().display()
                ),
            });
        }
        return Ok((
            model,
            Start {
                step: 0,
                best: None,
                checkpoint: None,
                loss_scale: None,
            },
        ));
    };
    let state = Checkpoints::read_state(&dir)?;
    let mismatch = |message: String| TrainError::Checkpoint {
        path: dir.clone(),
        message,
    };
    if state.model_fingerprint != plan.fingerprint {
        return Err(mismatch(
            "was written for another model (parameter names or shapes differ from model.backbone / model.ranker)"
                .into(),
        ));
    }
    if state.global_batch != plan.layout.global_examples() {
        return Err(mismatch(format!(
            "was trained with {} examples per step; ranks × train.per_device_batch × train.grad_accum now gives {}",
            state.global_batch,
            plan.layout.global_examples()
        )));
    }
    if state.seed != config.run.seed {
        return Err(mismatch(format!(
            "was trained with run.seed {}; the config now says {}",
            state.seed, config.run.seed
        )));
    }
    if state.steps_per_epoch != plan.steps_per_epoch {
        return Err(mismatch(format!(
            "has {} steps per epoch; the training set now gives {}",
            state.steps_per_epoch, plan.steps_per_epoch
        )));
    }
    let model = task.load_weights(model, &dir, device)?;
    let tensors: HashMap<_, _> = ranker_models::read_safetensors(&dir.join(OPTIMIZER_FILE))?
        .into_iter()
        .collect();
    optimizer
        .import_state(
            state.optimizer_steps.unwrap_or(state.step),
            &plan.table,
            tensors,
            device,
        )
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
            loss_scale: state.loss_scale,
        },
    ))
}

/// Where the loop stands when it saves.
pub(super) struct SavePoint {
    /// Optimiser steps taken.
    pub(super) step: u64,
    /// Best dev score so far.
    pub(super) best: Option<BestScore>,
    /// The fp16 loss scaler's state.
    pub(super) loss_scale: Option<LossScaleState>,
}

/// Writes checkpoint `at.step` (model, optimiser state, trainer state) atomically (rank 0).
pub(super) fn save_checkpoint<B, T>(
    config: &Config,
    plan: &Plan,
    task: &T,
    model: &T::Model,
    optimizer: &Optimizer<B::InnerBackend>,
    at: SavePoint,
) -> Result<PathBuf, TrainError>
where
    B: AutodiffBackend,
    T: RankerTask<B>,
{
    let SavePoint {
        step,
        best,
        loss_scale,
    } = at;
    let state = TrainerState {
        version: TrainerState::VERSION,
        step,
        epoch: (step / plan.steps_per_epoch) as usize,
        step_in_epoch: (step % plan.steps_per_epoch) as usize,
        steps_per_epoch: plan.steps_per_epoch,
        total_steps: plan.total_steps,
        seed: config.run.seed,
        global_batch: plan.layout.global_examples(),
        best,
        model_fingerprint: plan.fingerprint.clone(),
        metrics: config.data.metrics.clone(),
        train_data: config.data.train.as_ref().map(|p| p.display().to_string()),
        optimizer_steps: Some(optimizer.steps()),
        loss_scale,
    };
    let dir = plan.checkpoints.save(step, &state, |dir| {
        task.save(model, dir)?;
        ranker_models::write_safetensors(&dir.join(OPTIMIZER_FILE), &optimizer.export_state())?;
        Ok(())
    })?;
    tracing::info!("saved {}", dir.display());
    Ok(dir)
}
