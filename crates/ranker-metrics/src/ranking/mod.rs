//! Ranking metrics as LLM-Blender defines them: competition ranks, pairwise aggregation,
//! GPT-Rank from ChatGPT judgements, ≥X beats, Top-k, and rank correlations.

mod cmp_results;
mod correlation;
mod gpt;
mod matrix;
mod pairwise;
mod ranks;

pub use cmp_results::*;
pub use correlation::*;
pub use gpt::*;
pub use matrix::*;
pub use pairwise::*;
pub use ranks::*;
