//! The training loop: one loop for one process or many.
//!
//! Each optimiser step takes the next global batch of the epoch order ([`crate::batches`]): every
//! rank prepares its micro-batches, the ranks agree on the step's total loss units (pairs) with one
//! small all-reduce, each micro-batch's mean loss is weighted by its share of those units and
//! back-propagated, the gradients are summed into one flat buffer in the fixed parameter order, that
//! buffer is all-reduced (sum) once per step — so gradient accumulation syncs only on the last
//! micro-step — then clipped by global norm and applied. The result is the gradient of the mean loss
//! over every pair of the global batch, whatever the number of ranks: N ranks × batch b compute what
//! one rank × batch N·b computes.
//!
//! Rank 0 alone writes the run directory (config, metrics, checkpoints, plots); evaluation is
//! sharded over the ranks and gathered. Every random choice derives from `run.seed`, the epoch, the
//! step and the example index (dropout also from the rank), so a resumed run continues exactly.

mod checkpointing;
mod observer;
mod run;
mod step;
mod sync;

pub use observer::{LogObserver, TrainObserver};
pub use run::TrainSummary;

use burn::tensor::backend::AutodiffBackend;
use ranker_dist::ProcessGroup;

use crate::config::{Config, Precision, RankerKind};
use crate::error::TrainError;
use crate::task::{PairTask, RankerTask, SimClsTask, SummaTask};
use run::Trainer;

/// How `ranker train` resumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resume {
    /// Continue from the newest complete checkpoint of the run directory if there is one.
    #[default]
    Auto,
    /// Continue from the newest complete checkpoint; fail if there is none (`--resume`).
    Required,
}

/// Trains the ranker described by `config` on `device`, as rank `pg.rank()` of `pg.world_size()`.
pub fn train<B: AutodiffBackend>(
    config: &Config,
    pg: &mut ProcessGroup,
    device: &B::Device,
    resume: Resume,
    observer: &mut dyn TrainObserver,
) -> Result<TrainSummary, TrainError> {
    check_precision::<B>(config, device)?;
    B::seed(device, config.run.seed);
    match config.model.ranker {
        RankerKind::PairRanker => {
            let (task, model) = PairTask::build::<B>(config, device)?;
            train_task(config, task, model, pg, device, resume, observer)
        }
        RankerKind::SummaReranker => {
            let (task, model) = SummaTask::build::<B>(config, device)?;
            train_task(config, task, model, pg, device, resume, observer)
        }
        RankerKind::SimCls => {
            let (task, model) = SimClsTask::build::<B>(config, device)?;
            train_task(config, task, model, pg, device, resume, observer)
        }
    }
}

fn train_task<B: AutodiffBackend, T: RankerTask<B>>(
    config: &Config,
    task: T,
    model: T::Model,
    pg: &mut ProcessGroup,
    device: &B::Device,
    resume: Resume,
    observer: &mut dyn TrainObserver,
) -> Result<TrainSummary, TrainError> {
    Trainer::new(config, task, model, pg, device, resume, observer)?.run()
}

/// Only fp32 is implemented; asking for mixed precision fails before any work starts.
fn check_precision<B: AutodiffBackend>(
    config: &Config,
    device: &B::Device,
) -> Result<(), TrainError> {
    match config.train.precision {
        Precision::Fp32 => Ok(()),
        other => Err(TrainError::Setup {
            key: "train.precision",
            message: format!(
                "{other:?} is not supported on the {} backend of this build; use fp32",
                B::name(device)
            ),
        }),
    }
}
