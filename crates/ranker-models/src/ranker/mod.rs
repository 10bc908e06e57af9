//! The three rankers of LLM-Blender on a [`Backbone`](crate::Backbone): PairRanker, SummaReranker (with its
//! mixture of experts) and SimCLS.

mod moe;
mod pair_ranker;
mod simcls;
mod summa_reranker;

pub use moe::*;
pub use pair_ranker::*;
pub use simcls::*;
pub use summa_reranker::*;
