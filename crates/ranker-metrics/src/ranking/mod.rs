//! Ranking metrics as LLM-Blender defines them: competition ranks, pairwise aggregation,
//! GPT-Rank from ChatGPT judgements, ≥X beats, Top-k, and rank correlations.

mod cmp_results;
mod correlation;
mod gpt;
mod matrix;
mod pairwise;
mod ranks;

pub use cmp_results::{CmpResults, Verdict};
pub use correlation::{
    cor_pearson, cor_spearman, pearson, pearson_per_column, rank_average, spearman,
    spearman_footrule, spearman_per_column,
};
pub use gpt::{beat_rate, gpt_cmp_matrix, gpt_ranks, mean_selected_rank, top_k_rate};
pub use matrix::Matrix;
pub use pairwise::{max_logits_scores, max_wins_scores};
pub use ranks::competition_ranks;
