//! The three rankers of LLM-Blender on a [`Backbone`](crate::Backbone): PairRanker, SummaReranker (with its
//! mixture of experts) and SimCLS.

mod moe;
mod pair_ranker;
mod simcls;
mod summa_reranker;

pub use moe::{GateNoise, MlpExpert, Moe, MoeConfig, MoeOutput, MOE_AUX_LOSS_COEF};
pub use pair_ranker::{PairHead, PairInput, PairRanker, PairRankerConfig, PairScores};
pub use simcls::{DualInput, SimCls, SimClsOutput};
pub use summa_reranker::{
    select_candidates, SummaInput, SummaOutput, SummaReranker, SummaRerankerConfig,
};
