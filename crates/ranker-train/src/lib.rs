//! The llm-ranker training worker.
//!
//! One training loop for one process or many: the distributed pieces (gradient all-reduce,
//! data sharding, rank-0-only writes) plug into it through `ranker-dist`.

pub mod config;
pub mod optim;
