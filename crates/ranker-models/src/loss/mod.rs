//! Ranker losses, each a pure function over burn tensors with its formula and the torch code it mirrors.
//!
//! Pairwise (PairRanker): [`instructgpt_loss`], [`pair_bce_loss`], [`pair_mse_loss`], dispatched by [`PairLoss`].
//! Listwise: [`moe_bce_loss`] (SummaReranker) and [`simcls_loss`] (SimCLS), built on [`margin_ranking_loss`].

mod bce_with_logits;
mod instructgpt;
mod margin_ranking;
mod moe_bce;
mod pair_bce;
mod pair_loss;
mod pair_mse;
mod simcls;

pub use bce_with_logits::*;
pub use instructgpt::*;
pub use margin_ranking::*;
pub use moe_bce::*;
pub use pair_bce::*;
pub use pair_loss::*;
pub use pair_mse::*;
pub use simcls::*;
