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

pub use bce_with_logits::bce_with_logits;
pub use instructgpt::instructgpt_loss;
pub use margin_ranking::margin_ranking_loss;
pub use moe_bce::{best_candidate_labels, moe_bce_loss};
pub use pair_bce::pair_bce_loss;
pub use pair_loss::PairLoss;
pub use pair_mse::pair_mse_loss;
pub use simcls::simcls_loss;
