//! Inference and evaluation for llm-ranker's rankers.
//!
//! - [`inference`]: PairRanker's modes exactly as LLM-Blender
//!   (<https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/ranker.py>) — `full` ([`PairInference::Full`]: every
//!   ordered pair `i ≠ j` scored once, aggregated by [`Aggregation::MaxLogits`] or [`Aggregation::MaxWins`]) and
//!   `bubble` ([`PairInference::Bubble`]: a seeded permutation per item, both orders per comparison, ties to the later
//!   candidate, the reference's `num_runs` loop, `select_process` recorded) — and listwise scoring for
//!   SummaReranker / SimCLS. Requests from many items are packed into full batches; scores become competition
//!   ranks. The model is behind the [`PairScorer`] / [`ListScorer`] traits.
//! - [`shard`]: items split across the ranks of a [`Collective`](ranker_dist::Collective) in contiguous blocks,
//!   results gathered to every rank in input order; world-size invariant by construction (bubble permutations
//!   derive from `(seed, round, item index)`).
//! - [`report`]: sel / oracle / top_beam / random / gain per metric, `dev_score` (the trainer's eval-in-the-loop),
//!   GPT-Rank, ≥X beats, Top-k and rank correlations from `cmp_results`, baseline rows and the paper-style
//!   console table ([`render_table`]).
//! - [`evaluate_pairwise`] / [`evaluate_listwise`]: all of it for a dataset, writing `eval/predictions.jsonl` and
//!   `eval/report.json` atomically on rank 0.
//! - [`reward`]: PairRM-style use as a reward model — rank, compare, rank with a reference, best-of-n — over
//!   streams of items.
//!
//! - [`PairRankerScorer`]: the burn PairRanker of `ranker-models` as a [`PairScorer`] (per-item collation,
//!   pair rows from many items in one forward, loading from a checkpoint directory); [`SummaRerankerScorer`] and
//!   [`SimClsScorer`]: SummaReranker (`sigmoid(mean_T pred)`, clean gates) and SimCLS (cosine similarity) as
//!   [`ListScorer`]s, items with the same candidate count stacked into one forward.
//!
//! What it does not do: read data or config files, train or define models, print (it logs through `tracing`).
//!
//! Agreement with the reference is proven by the fixtures in `tests/fixtures/eval/`, written by
//! `tests/fixtures/make_eval_fixtures.py` from the `llm-blender` package's own functions.

#![forbid(unsafe_code)]

pub mod inference;
pub mod model;
pub mod report;
pub mod reward;
pub mod scorer;
pub mod shard;

mod error;
mod evaluate;
mod item;
mod output;
mod rng;

pub use error::EvalError;
pub use evaluate::{evaluate_listwise, evaluate_pairwise, EvalOptions, EvalOutcome};
pub use inference::{
    bubble_elimination_scores, bubble_return_all_order, bubble_select, predict_listwise,
    predict_pairwise, Aggregation, BatchOptions, BubbleOptions, BubbleState, BubbleTarget,
    InferenceStats, PairInference,
};
pub use item::{BubbleStep, ItemPrediction, ItemText, PredictionLine};
pub use model::{PairRankerScorer, SimClsScorer, SummaRerankerScorer};
pub use output::{write_eval_outputs, PREDICTIONS_FILE, REPORT_FILE};
pub use report::{render_table, selection_metrics, GptOptions, Report, SelectionMetrics};
pub use rng::item_permutation;
pub use scorer::{ListScorer, PairRef, PairScorer, SyntheticScorer};
