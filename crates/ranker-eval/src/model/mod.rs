//! Adapters from `ranker-models`' burn rankers to the scorer traits.

mod materialize;
mod pair_ranker;

pub use materialize::*;
pub use pair_ranker::*;
