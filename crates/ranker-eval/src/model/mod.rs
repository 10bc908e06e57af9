//! Adapters from `ranker-models`' burn rankers to the scorer traits.

mod list_batch;
mod materialize;
mod pair_ranker;
mod simcls;
mod summa_reranker;

pub use materialize::*;
pub use pair_ranker::*;
pub use simcls::*;
pub use summa_reranker::*;
