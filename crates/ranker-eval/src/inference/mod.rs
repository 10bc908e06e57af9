//! Inference: PairRanker's `full` and `bubble` modes and listwise scoring, over items packed into batches.

mod batcher;
mod bubble;
mod engine;
mod full;
mod listwise;
mod options;
mod stats;

pub use batcher::{prepare_pairs, score_requests, PairRequest};
pub use bubble::{
    bubble_elimination_scores, bubble_predict_chunk, bubble_return_all_order, bubble_select,
    BubbleState,
};
pub use engine::{check_items, predict_listwise, predict_pairwise};
pub use full::{aggregate, full_pairs, full_predict_chunk, predict_from_matrix};
pub use listwise::{listwise_predict_chunk, predict_from_scores};
pub use options::{Aggregation, BatchOptions, BubbleOptions, BubbleTarget, PairInference};
pub use stats::InferenceStats;
