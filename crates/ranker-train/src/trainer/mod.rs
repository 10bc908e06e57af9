//! The training loop: one loop for one process or many.
//!
//! Each optimiser step takes the next global batch of the epoch order ([`crate::batches`]): every
//! rank prepares its micro-batches (one step ahead, on a host thread: [`prefetch`]), the ranks agree on the step's total loss units (pairs) with one
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
mod prefetch;
mod run;
mod step;
mod sync;
mod update;

pub use observer::{LogObserver, TrainObserver};
pub use run::TrainSummary;

use burn::backend::autodiff::checkpoint::strategy::{BalancedCheckpointing, NoCheckpointing};
use burn::backend::Autodiff;
use burn::tensor::backend::{AutodiffBackend, Backend};
use ranker_dist::ProcessGroup;

use crate::config::{Config, RankerKind};
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
    check_support::<B>(config, device)?;
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

/// [`train`] on `Inner` with autodiff, storing every activation or, with
/// `train.activation_checkpointing`, with burn-autodiff's balanced checkpointing (memory-bound
/// activations recomputed in backward). The two give the same run.
pub fn train_on<Inner: Backend>(
    config: &Config,
    pg: &mut ProcessGroup,
    device: &Inner::Device,
    resume: Resume,
    observer: &mut dyn TrainObserver,
) -> Result<TrainSummary, TrainError> {
    if config.train.activation_checkpointing {
        train::<Autodiff<Inner, BalancedCheckpointing>>(config, pg, device, resume, observer)
    } else {
        train::<Autodiff<Inner, NoCheckpointing>>(config, pg, device, resume, observer)
    }
}

/// Refuses, before any work, a precision the backend cannot compute in on `device`, and
/// activation checkpointing on an autodiff backend that does not checkpoint (call [`train_on`]).
fn check_support<B: AutodiffBackend>(
    config: &Config,
    device: &B::Device,
) -> Result<(), TrainError> {
    let t = &config.train;
    crate::precision::check_supported::<B>(t.precision, "train.precision", device)?;
    let checkpointing = std::any::TypeId::of::<B>()
        == std::any::TypeId::of::<Autodiff<B::InnerBackend, BalancedCheckpointing>>();
    if t.activation_checkpointing && !checkpointing {
        return Err(TrainError::Setup {
            key: "train.activation_checkpointing",
            message: format!(
                "needs the checkpointing autodiff backend, which `ranker_train::train_on` picks; \
                 this caller trains on {}",
                std::any::type_name::<B>()
            ),
        });
    }
    Ok(())
}
