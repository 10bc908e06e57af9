//! Metrics for llm-ranker, as pure functions over text and slices.
//!
//! - [`text`]: ROUGE-1/2/L/Lsum F-measures identical to Google's `rouge-score` with
//!   `use_stemmer=True` (through the pinned `rougers` crate), and BLEU identical to
//!   `sacrebleu` (13a tokenizer, `exp` smoothing; [`sentence_bleu`] and [`corpus_bleu`]).
//!   [`TextScorer`] computes any set of [`TextMetric`]s for one prediction and its
//!   references, tokenizing each text once per tokenizer.
//! - [`ranking`]: the ranking metrics of LLM-Blender — [`competition_ranks`], the
//!   max-logits / max-wins aggregation of a pairwise logit matrix, GPT ranks from
//!   [`CmpResults`], GPT-Rank, ≥X beats, Top-k, and Pearson / Spearman / footrule rank
//!   correlations.
//!
//! ```
//! use ranker_metrics::{sentence_bleu, TextMetric, TextScorer};
//!
//! let scorer = TextScorer::new(&TextMetric::parse_list("rouge1,rougeLsum,bleu")?)?;
//! let scores = scorer.score("The cat sat on the mat.", &["A cat sat on the mat."])?;
//! assert_eq!(scores.get(TextMetric::Rouge1), Some(5.0 / 6.0));
//! let bleu = sentence_bleu("The cat sat on the mat.", &["A cat sat on the mat."])?;
//! assert_eq!(scores.get(TextMetric::Bleu), Some(bleu.score));
//! assert_eq!(bleu.counts, [6, 5, 4, 3]);
//! # Ok::<(), ranker_metrics::MetricsError>(())
//! ```
//!
//! Equality with the Python packages is proven by the fixtures that
//! `tests/fixtures/make_metric_fixtures.py` writes with `rouge-score`, `sacrebleu`, `numpy`
//! and `scipy`.
//!
//! The crate does no I/O, no parallelism (callers parallelise over pairs; every type is
//! `Send + Sync`) and no logging. It knows nothing of models, tokenizers for neural
//! networks or the MixInstruct file format; reading `cmp_results` from a JSON string is
//! the data layer's job.

#![forbid(unsafe_code)]

pub mod ranking;
pub mod text;

mod error;

pub use error::MetricsError;
pub use ranking::{
    beat_rate, competition_ranks, cor_pearson, cor_spearman, gpt_cmp_matrix, gpt_ranks,
    max_logits_scores, max_wins_scores, mean_selected_rank, spearman_footrule, top_k_rate,
    CmpResults, Matrix, Verdict,
};
pub use text::{
    corpus_bleu, rouge_scores, sentence_bleu, BleuScore, BleuStats, PreparedReferences, References,
    RougeScores, ScoreRequest, TextMetric, TextScorer, TextScores,
};
