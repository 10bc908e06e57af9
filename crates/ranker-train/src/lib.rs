//! The llm-ranker training worker.
//!
//! One training loop for one process or many: the distributed pieces (gradient all-reduce,
//! data sharding, rank-0-only writes) plug into it through `ranker-dist`.

pub mod batches;
pub mod checkpoints;
pub mod config;
mod error;
pub mod metrics_log;
pub mod optim;
pub mod plot;
pub mod run_dir;

pub use error::TrainError;
