//! MixInstruct-format data for llm-ranker.
//!
//! - [`MixItem`]: the serde model of one item (`id`, `instruction`, `input`, `output`, `candidates`,
//!   `cmp_results`), keeping unknown fields so files can be rewritten; [`read_items`] streams a `.json` array or
//!   a `.jsonl` file item by item.
//! - [`Dataset::load`]: the compact form training uses, one [`Example`] per item (source, target, candidate
//!   texts and models, a `[n_candidates][n_tasks]` [`ScoreMatrix`], typed `cmp_results`), after the reference's
//!   filters, metric order, [`metric_weight`]s, `n_candidates` and `max_size`. Bad data is a one-line
//!   [`DataError`] naming the file and line (JSONL) or item index and id (JSON).
//! - [`PairSampler`] (PairRanker) and [`CandidateSampler`] (SummaReranker, SimCLS): the reference's training-time
//!   sub-sampling, seeded by the caller's RNG.
//! - [`atomic`]: files and directories that appear complete or not at all.
//! - [`convert_pairs_file`] and [`prepare_split`]: preference pairs and the reference's raw candidate layout
//!   into items (`ranker data convert | prepare`).
//! - The library side of `ranker data synth | stats | score`: [`Synthesizer`], [`DataStats`], [`rescore_file`].
//!
//! What it does not do: tokenization, batching into tensors, or anything with a model — those live in
//! `ranker-models` / `ranker-train`. It never prints; long jobs report progress through callbacks.

#![forbid(unsafe_code)]

pub mod atomic;

mod convert;
mod dataset;
mod error;
mod read;
mod rescore;
mod sampling;
mod schema;
mod stats;
mod synth;

pub use convert::{
    convert_pairs_file, pair_row_item, prepare_split, PairConvertOptions, PairConvertSummary,
    PrepareSummary,
};
pub use dataset::{metric_weight, Dataset, Example, LoadOptions, ScoreMatrix};
pub use error::DataError;
pub use read::{read_items, DataFormat, ItemLocation};
pub use rescore::{count_items, rescore_file, rescore_item};
pub use sampling::{
    CandidateMode, CandidatePair, CandidateSampler, CandidateSampling, PairMode, PairSampler,
    PairSampling,
};
pub use schema::{CmpField, ItemId, MixCandidate, MixItem, Output, ScoreMap};
pub use stats::{DataStats, GroupStats};
pub use synth::{
    synth_file, synth_item, synth_items, SynthModel, SynthOptions, Synthesizer, SYNTH_METRICS,
};
