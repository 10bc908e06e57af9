//! ROUGE F-measures exactly as Google's `rouge-score` 0.1.2 computes them with
//! `RougeScorer(types, use_stemmer=True)` (default tokenizer, `split_summaries=False`, so
//! `rougeLsum` splits summaries on `"\n"`), through the pinned `rougers` crate.
//!
//! `rougers` is a port of `rouge-score` (tokenizer, NLTK Porter stemmer in
//! `NLTK_EXTENSIONS` mode, summary-level LCS). The fixtures under `tests/fixtures/metrics/`
//! prove the equality on our inputs; keep the crate pinned (`=0.2.1`) so that they stay
//! proof.

use crate::MetricsError;

/// The ROUGE variants the crate computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RougeType {
    /// Unigram overlap.
    Rouge1,
    /// Bigram overlap.
    Rouge2,
    /// Longest common subsequence over the whole text.
    RougeL,
    /// Summary-level LCS over the text's lines.
    RougeLsum,
}

impl RougeType {
    /// All variants, in the usual order.
    pub const ALL: [RougeType; 4] = [
        RougeType::Rouge1,
        RougeType::Rouge2,
        RougeType::RougeL,
        RougeType::RougeLsum,
    ];

    /// The `rouge-score` name (`rouge1`, `rouge2`, `rougeL`, `rougeLsum`).
    pub fn name(self) -> &'static str {
        match self {
            RougeType::Rouge1 => "rouge1",
            RougeType::Rouge2 => "rouge2",
            RougeType::RougeL => "rougeL",
            RougeType::RougeLsum => "rougeLsum",
        }
    }

    fn backend(self) -> rougers::RougeType {
        match self {
            RougeType::Rouge1 => rougers::RougeType::N(1),
            RougeType::Rouge2 => rougers::RougeType::N(2),
            RougeType::RougeL => rougers::RougeType::L,
            RougeType::RougeLsum => rougers::RougeType::LSum,
        }
    }
}

/// Computes a fixed set of ROUGE variants with stemming.
#[derive(Clone, Debug)]
pub struct RougeScorer {
    types: Vec<RougeType>,
    backend: rougers::RougeScorer,
}

/// A text tokenized for a [`RougeScorer`] (and only valid with the scorer that made it).
#[derive(Clone, Debug)]
pub struct RougeText(rougers::Document);

impl RougeScorer {
    /// A scorer for `types` (in that order, duplicates dropped) with the Porter stemmer on.
    pub fn new(types: &[RougeType]) -> Result<Self, MetricsError> {
        let mut unique: Vec<RougeType> = Vec::with_capacity(types.len());
        for &t in types {
            if !unique.contains(&t) {
                unique.push(t);
            }
        }
        let backend = rougers::RougeScorer::with_tokenizer(
            unique.iter().map(|t| t.backend()).collect(),
            rougers::Tokenizer::new(true),
        )
        .map_err(MetricsError::Rouge)?;
        Ok(RougeScorer {
            types: unique,
            backend,
        })
    }

    /// The variants this scorer computes, in output order.
    pub fn types(&self) -> &[RougeType] {
        &self.types
    }

    /// Tokenizes (and, for `rougeLsum`, splits into lines) one text.
    pub fn prepare(&self, text: &str) -> RougeText {
        RougeText(self.backend.document(text))
    }

    /// F-measures of `prediction` against `references`, one per [`Self::types`], each the
    /// maximum over references as `RougeScorer.score_multi` does (per variant; the first
    /// reference wins ties, which does not change the value). Fails without references.
    pub fn score<S: AsRef<str>>(
        &self,
        prediction: &str,
        references: &[S],
    ) -> Result<Vec<f64>, MetricsError> {
        // rougers' own score_multi keeps the per-variant best reference, first on ties;
        // it tokenizes into one buffer per text, which is faster than building documents.
        let best = self
            .backend
            .score_multi(references, prediction)
            .ok_or(MetricsError::NoReferences)?;
        Ok(best.iter().map(|(_, score)| score.fmeasure).collect())
    }

    /// As [`Self::score`] with texts prepared by this scorer.
    pub fn score_prepared(
        &self,
        prediction: &RougeText,
        references: &[RougeText],
    ) -> Result<Vec<f64>, MetricsError> {
        if references.is_empty() {
            return Err(MetricsError::NoReferences);
        }
        let mut best = vec![f64::NEG_INFINITY; self.types.len()];
        for reference in references {
            self.update_best(prediction, reference, &mut best);
        }
        Ok(best)
    }

    fn update_best(&self, prediction: &RougeText, reference: &RougeText, best: &mut [f64]) {
        // rouge-score's score(target, prediction): the reference is the target.
        let scores = self.backend.score_documents(&reference.0, &prediction.0);
        for ((_, score), slot) in scores.iter().zip(best.iter_mut()) {
            if score.fmeasure > *slot {
                *slot = score.fmeasure;
            }
        }
    }
}

/// rouge-score's default tokenizer with the Porter stemmer (`tokenize.tokenize(text,
/// PorterStemmer())`): lowercase, split on anything outside `[a-z0-9]`, stem tokens longer
/// than three characters.
pub fn rouge_tokenize(text: &str) -> Vec<String> {
    rougers::Tokenizer::new(true).tokenize(text)
}

/// All four ROUGE F-measures of one prediction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RougeScores {
    /// ROUGE-1 F-measure.
    pub rouge1: f64,
    /// ROUGE-2 F-measure.
    pub rouge2: f64,
    /// ROUGE-L F-measure.
    pub rouge_l: f64,
    /// ROUGE-Lsum F-measure.
    pub rouge_lsum: f64,
}

/// `RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=True)
/// .score_multi(references, prediction)`, F-measures only.
pub fn rouge_scores<S: AsRef<str>>(
    prediction: &str,
    references: &[S],
) -> Result<RougeScores, MetricsError> {
    let scores = RougeScorer::new(&RougeType::ALL)?.score(prediction, references)?;
    Ok(RougeScores {
        rouge1: scores[0],
        rouge2: scores[1],
        rouge_l: scores[2],
        rouge_lsum: scores[3],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_rouge_score_readme_example() {
        let s = rouge_scores(
            "The quick brown dog jumps on the log.",
            &["The quick brown fox jumps over the lazy dog"],
        )
        .unwrap();
        assert_eq!(s.rouge1, 0.7058823529411765);
        assert_eq!(s.rouge_l, 0.5882352941176471);
    }

    #[test]
    fn takes_the_best_reference_per_variant() {
        let scorer = RougeScorer::new(&[RougeType::Rouge1, RougeType::Rouge2]).unwrap();
        // Reference 1 is best for rouge1 (all unigrams), reference 2 for rouge2.
        let scores = scorer.score("a b c", &["c b a", "a b x"]).unwrap();
        assert_eq!(scores[0], 1.0);
        assert_eq!(scores[1], 0.5);
    }

    #[test]
    fn drops_duplicate_types_and_rejects_missing_references() {
        let scorer = RougeScorer::new(&[RougeType::RougeL, RougeType::RougeL]).unwrap();
        assert_eq!(scorer.types(), [RougeType::RougeL]);
        assert!(matches!(
            scorer.score::<&str>("a", &[]),
            Err(MetricsError::NoReferences)
        ));
    }
}
