//! Scoring one prediction against its references for a set of text metrics at once.
//!
//! Each text is tokenized once per tokenizer family: once for all ROUGE variants
//! (rouge-score's tokenizer) and once for BLEU (13a). References can be prepared once and
//! reused for every candidate of an example. Nothing here is parallel; callers
//! parallelise over pairs (the scorer is `Send + Sync`).

use serde::ser::SerializeMap;

use super::bleu::BleuReferences;
use super::metric::TextMetric;
use super::rouge::{RougeScorer, RougeText};
use crate::MetricsError;

/// Computes a fixed list of [`TextMetric`]s.
#[derive(Clone, Debug)]
pub struct TextScorer {
    metrics: Vec<TextMetric>,
    rouge: Option<RougeScorer>,
    /// For each ROUGE variant of `rouge`, the slot of `metrics` it fills.
    rouge_slots: Vec<usize>,
    bleu_slot: Option<usize>,
}

/// References tokenized by one [`TextScorer`], reusable across predictions.
#[derive(Clone, Debug)]
pub struct PreparedReferences {
    metrics: Vec<TextMetric>,
    rouge: Vec<RougeText>,
    bleu: Option<BleuReferences>,
}

/// Scores in the scorer's metric order.
///
/// Serializes as a JSON object `{"rouge1": …, "bleu": …}` in that order.
#[derive(Clone, Debug, PartialEq)]
pub struct TextScores(Vec<(TextMetric, f64)>);

impl TextScorer {
    /// A scorer for `metrics`, in that order. Fails on an empty or repeating list.
    pub fn new(metrics: &[TextMetric]) -> Result<Self, MetricsError> {
        if metrics.is_empty() {
            return Err(MetricsError::NoTextMetrics);
        }
        for (i, metric) in metrics.iter().enumerate() {
            if metrics[..i].contains(metric) {
                return Err(MetricsError::DuplicateTextMetric {
                    name: metric.name(),
                });
            }
        }
        let mut rouge_types = Vec::new();
        let mut rouge_slots = Vec::new();
        let mut bleu_slot = None;
        for (slot, metric) in metrics.iter().enumerate() {
            match metric.rouge_type() {
                Some(rouge_type) => {
                    rouge_types.push(rouge_type);
                    rouge_slots.push(slot);
                }
                None => bleu_slot = Some(slot),
            }
        }
        let rouge = if rouge_types.is_empty() {
            None
        } else {
            Some(RougeScorer::new(&rouge_types)?)
        };
        Ok(TextScorer {
            metrics: metrics.to_vec(),
            rouge,
            rouge_slots,
            bleu_slot,
        })
    }

    /// The metrics, in output order.
    pub fn metrics(&self) -> &[TextMetric] {
        &self.metrics
    }

    /// Scores `prediction` against `references` (ROUGE: best reference per variant;
    /// BLEU: sacrebleu's multi-reference sentence BLEU). Fails without references.
    pub fn score<S: AsRef<str>>(
        &self,
        prediction: &str,
        references: &[S],
    ) -> Result<TextScores, MetricsError> {
        if references.is_empty() {
            return Err(MetricsError::NoReferences);
        }
        let mut values = vec![0.0; self.metrics.len()];
        if let Some(scorer) = &self.rouge {
            let rouge = scorer.score(prediction, references)?;
            for (&slot, value) in self.rouge_slots.iter().zip(rouge) {
                values[slot] = value;
            }
        }
        if let Some(slot) = self.bleu_slot {
            values[slot] = BleuReferences::new(references)?
                .stats(prediction)
                .score(true)
                .score;
        }
        Ok(self.scores(values))
    }

    /// Tokenizes and counts `references` once for repeated [`Self::score_prepared`] calls.
    /// Fails without references.
    pub fn prepare_references<S: AsRef<str>>(
        &self,
        references: &[S],
    ) -> Result<PreparedReferences, MetricsError> {
        if references.is_empty() {
            return Err(MetricsError::NoReferences);
        }
        let rouge = match &self.rouge {
            Some(scorer) => references
                .iter()
                .map(|r| scorer.prepare(r.as_ref()))
                .collect(),
            None => Vec::new(),
        };
        let bleu = match self.bleu_slot {
            Some(_) => Some(BleuReferences::new(references)?),
            None => None,
        };
        Ok(PreparedReferences {
            metrics: self.metrics.clone(),
            rouge,
            bleu,
        })
    }

    /// Scores `prediction` against references prepared by a scorer for the same metrics.
    pub fn score_prepared(
        &self,
        prediction: &str,
        references: &PreparedReferences,
    ) -> Result<TextScores, MetricsError> {
        if references.metrics != self.metrics {
            return Err(MetricsError::PreparedForOtherMetrics {
                prepared: names(&references.metrics),
                scorer: names(&self.metrics),
            });
        }
        let mut values = vec![0.0; self.metrics.len()];
        if let Some(scorer) = &self.rouge {
            let rouge = scorer.score_prepared(&scorer.prepare(prediction), &references.rouge)?;
            for (&slot, value) in self.rouge_slots.iter().zip(rouge) {
                values[slot] = value;
            }
        }
        if let (Some(slot), Some(bleu)) = (self.bleu_slot, &references.bleu) {
            values[slot] = bleu.stats(prediction).score(true).score;
        }
        Ok(self.scores(values))
    }

    fn scores(&self, values: Vec<f64>) -> TextScores {
        TextScores(self.metrics.iter().copied().zip(values).collect())
    }
}

fn names(metrics: &[TextMetric]) -> String {
    metrics
        .iter()
        .map(|m| m.name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl TextScores {
    /// The score of `metric`, if it was computed.
    pub fn get(&self, metric: TextMetric) -> Option<f64> {
        self.0.iter().find(|(m, _)| *m == metric).map(|&(_, v)| v)
    }

    /// `(metric, score)` pairs in the scorer's order.
    pub fn iter(&self) -> impl Iterator<Item = (TextMetric, f64)> + '_ {
        self.0.iter().copied()
    }

    /// The scores alone, in the scorer's order.
    pub fn values(&self) -> Vec<f64> {
        self.0.iter().map(|&(_, v)| v).collect()
    }
}

impl serde::Serialize for TextScores {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (metric, value) in &self.0 {
            map.serialize_entry(metric.name(), value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scorers_and_prepared_references_cross_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<TextScorer>();
        assert_send_sync::<PreparedReferences>();
        assert_send_sync::<TextScores>();
    }

    #[test]
    fn fills_scores_in_requested_order() {
        let scorer = TextScorer::new(&[TextMetric::Bleu, TextMetric::Rouge1]).unwrap();
        let scores = scorer.score("the cat sat", &["the cat sat"]).unwrap();
        let values = scores.values();
        assert!((values[0] - 100.0).abs() < 1e-9);
        assert_eq!(values[1], 1.0);
        assert_eq!(scores.get(TextMetric::Rouge1), Some(1.0));
        assert_eq!(scores.get(TextMetric::Rouge2), None);
    }

    #[test]
    fn serializes_as_an_ordered_object() {
        let scorer = TextScorer::new(&[TextMetric::RougeLsum, TextMetric::Rouge1]).unwrap();
        let scores = scorer.score("a b", &["a c"]).unwrap();
        assert_eq!(
            serde_json::to_string(&scores).unwrap(),
            r#"{"rougeLsum":0.5,"rouge1":0.5}"#
        );
    }

    #[test]
    fn prepared_references_must_match_the_scorer() {
        let one = TextScorer::new(&[TextMetric::Rouge1]).unwrap();
        let both = TextScorer::new(&[TextMetric::Rouge1, TextMetric::RougeLsum]).unwrap();
        let prepared = one.prepare_references(&["a b"]).unwrap();
        let err = both.score_prepared("a", &prepared).unwrap_err();
        assert_eq!(
            err.to_string(),
            "references were prepared for metrics [rouge1] but this scorer computes [rouge1, rougeLsum]"
        );
    }

    #[test]
    fn rejects_empty_and_repeated_metric_lists() {
        assert!(matches!(
            TextScorer::new(&[]),
            Err(MetricsError::NoTextMetrics)
        ));
        assert!(matches!(
            TextScorer::new(&[TextMetric::Bleu, TextMetric::Bleu]),
            Err(MetricsError::DuplicateTextMetric { name: "bleu" })
        ));
    }
}
