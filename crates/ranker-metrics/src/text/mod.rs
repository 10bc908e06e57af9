//! Reference-text metrics: ROUGE (as `rouge-score`) and BLEU (as `sacrebleu`).

mod bleu;
mod metric;
mod request;
mod rouge;
mod scorer;
mod tokenize_13a;

pub use bleu::{corpus_bleu, sentence_bleu, BleuReferences, BleuScore, BleuStats, MAX_NGRAM_ORDER};
pub use metric::TextMetric;
pub use request::{References, ScoreRequest};
pub use rouge::{rouge_scores, rouge_tokenize, RougeScorer, RougeScores, RougeText, RougeType};
pub use scorer::{PreparedReferences, TextScorer, TextScores};
pub use tokenize_13a::{python_rstrip, tokenize_13a};
