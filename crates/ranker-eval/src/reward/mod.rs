//! PairRM-style use of a ranker as a reward model (LLM-Blender's `Blender.rank`, `compare`,
//! `compare_conversations`, `rank_with_ref`, `get_best_of_n`, `get_worst_of_n`; [`RewardModel`] serves any of the
//! three ranker types), over chunks of a stream so that a CLI can read JSONL on stdin and write JSONL
//! on stdout ([`for_each_chunk`]).
//!
//! ```
//! use ranker_eval::reward::{rank, RankInput};
//! use ranker_eval::{BatchOptions, InferenceStats, SyntheticScorer};
//!
//! let inputs = vec![RankInput {
//!     id: None,
//!     instruction: String::new(),
//!     input: "Name a fruit.".into(),
//!     candidates: vec!["Apple.".into(), "A car.".into(), "Pear.".into()],
//!     reference: None,
//! }];
//! let mut stats = InferenceStats::default();
//! let out = rank(&mut SyntheticScorer::default(), 0, &inputs, &BatchOptions::with_batch_size(8), &mut stats)?;
//! assert_eq!(out[0].ranks.len(), 3);
//! assert_eq!(stats.forwards, 6); // n(n − 1) comparisons
//! # Ok::<(), ranker_eval::EvalError>(())
//! ```
// https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/blender/blender.py

mod api;
mod conversation;
mod io;
mod model;

pub use api::{
    best_of_n, compare, order_by_ranks, rank, rank_with_ref, CompareOrder, RefMode, SelectMode,
};
pub use conversation::CONVERSATION_INSTRUCTION;
pub use io::{
    for_each_chunk, BestOfNOutput, CompareConversationsInput, CompareInput, CompareOutput,
    RankInput, RankOutput, Turn,
};
pub use model::{checkpoint_ranker_type, RewardModel};
