//! The llm-ranker training worker.
//!
//! One training loop for one process or many ([`trainer`]): the distributed pieces (gradient
//! all-reduce, data sharding, rank-0-only writes) come from `ranker-dist`, the rankers from
//! `ranker-models`, dev selection from `ranker-eval`. [`config`] is the YAML run configuration
//! shared by `ranker train`, `ranker eval` and `launch`; [`worker`] is one `ranker train | eval | run`
//! process from joining the process group to leaving it.

// Unsafe code only where a module or statement allows it (with its SAFETY comment).
#![deny(unsafe_code)]

pub mod batches;
pub mod checkpoints;
pub mod config;
pub mod data;
mod error;
pub mod evaluation;
pub mod gradient_reduce;
pub mod kernel_cache;
pub mod memory;
pub mod metrics_log;
pub mod optim;
pub mod plan;
pub mod plot;
pub mod precision;
pub mod run_dir;
mod task;
pub mod trainer;
pub mod worker;

pub use error::TrainError;
pub use trainer::{train, train_on, LogObserver, Resume, TrainObserver, TrainSummary};
