//! PairRM-style use of a pairwise ranker as a reward model (LLM-Blender's `Blender.rank`, `compare`,
//! `rank_with_ref`, `get_best_of_n`), over chunks of a stream so that a CLI can read JSONL on stdin and write JSONL
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
mod io;

pub use api::*;
pub use io::*;
