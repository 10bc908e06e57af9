//! Inference: PairRanker's `full` and `bubble` modes and listwise scoring, over items packed into batches.

mod batcher;
mod bubble;
mod engine;
mod full;
mod listwise;
mod options;
mod stats;

pub use batcher::*;
pub use bubble::*;
pub use engine::*;
pub use full::*;
pub use listwise::*;
pub use options::*;
pub use stats::*;
