//! MixInstruct-format data for llm-ranker.
//!
//! What it does:
//! - the serde model of a MixInstruct item ([`MixItem`]), read from `.json` arrays and `.jsonl` files as a stream
//!   ([`read_items`]);
//! - loading into the compact form training uses ([`Dataset::load`]): candidate filters, configured metrics in
//!   task order, metric weights, `n_candidates`, `max_size`, with one-line errors naming file and line / item;
//! - training-time sub-sampling of candidate pairs (PairRanker) and candidates (SummaReranker, SimCLS);
//! - the library side of `ranker data synth|stats|score`, and atomic file / directory writers ([`atomic`]).
//!
//! What it does not do: tokenization, batching into tensors, or anything with a model — those live in
//! `ranker-models` / `ranker-train`. It never prints; progress is reported through callbacks.

pub mod atomic;

mod dataset;
mod error;
mod read;
mod rescore;
mod sampling;
mod schema;
mod stats;

pub use dataset::{metric_weight, Dataset, Example, LoadOptions, ScoreMatrix};
pub use error::DataError;
pub use read::{read_items, DataFormat, ItemLocation};
pub use rescore::{count_items, rescore_file, rescore_item};
pub use stats::{DataStats, GroupStats};
pub use sampling::{
    CandidateMode, CandidatePair, CandidateSampler, CandidateSampling, PairMode, PairSampler, PairSampling,
};
pub use schema::{CmpField, ItemId, MixCandidate, MixItem, Output, ScoreMap};
