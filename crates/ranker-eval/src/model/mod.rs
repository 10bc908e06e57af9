//! Adapters from `ranker-models`' burn rankers to the scorer traits.

mod list_batch;
mod materialize;
mod pair_ranker;
mod simcls;
mod summa_reranker;

pub use materialize::materialize_params;
pub use pair_ranker::{PairRankerScorer, PreparedPairItem};
pub use simcls::{PreparedSimClsItem, SimClsScorer};
pub use summa_reranker::{PreparedSummaItem, SummaRerankerScorer};
