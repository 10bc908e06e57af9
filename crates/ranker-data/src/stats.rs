//! `ranker data stats`: per-metric oracle and mean scores, as the reference's `check_and_normalize_scores`
//! prints them (its "selection upper bound" and "candidate mean scores"), plus means per model.

use std::collections::HashMap;

use serde::Serialize;

use crate::dataset::Dataset;

/// Summary statistics of a [`Dataset`]; every `Vec<f64>` has one value per metric, in [`DataStats::metrics`]
/// order. Values are on the dataset's scale: weighted when it was loaded with weights (the reference prints them
/// before weighting — load with `apply_metric_weights: false` to match).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataStats {
    /// Number of examples.
    pub n_examples: usize,
    /// Total number of candidates.
    pub n_candidates: usize,
    /// Fewest candidates in one example.
    pub min_candidates: usize,
    /// Most candidates in one example.
    pub max_candidates: usize,
    /// The metrics, in task order.
    pub metrics: Vec<String>,
    /// Whether the scores carry the metric weights.
    pub weighted: bool,
    /// Oracle ("selection upper bound"): mean over examples of the best candidate's score, per metric.
    pub oracle: Vec<f64>,
    /// Mean over all candidates, per metric.
    pub mean: Vec<f64>,
    /// Mean per candidate position (position 0 = the reference's "top beam"), over the examples that have it.
    pub by_position: Vec<GroupStats>,
    /// Mean per model, models in order of first appearance.
    pub by_model: Vec<GroupStats>,
}

/// The mean scores of one group of candidates (a position or a model).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupStats {
    /// The position (as a number) or the model name.
    pub name: String,
    /// Number of candidates in the group.
    pub count: usize,
    /// Mean score per metric.
    pub mean: Vec<f64>,
}

/// Sums per metric, turned into means at the end.
#[derive(Clone)]
struct Accumulator {
    name: String,
    count: usize,
    sums: Vec<f64>,
}

impl Accumulator {
    fn new(name: String, n_tasks: usize) -> Self {
        Self {
            name,
            count: 0,
            sums: vec![0.0; n_tasks],
        }
    }

    fn add(&mut self, row: &[f64]) {
        self.count += 1;
        for (sum, value) in self.sums.iter_mut().zip(row) {
            *sum += value;
        }
    }

    fn finish(self) -> GroupStats {
        let count = self.count;
        GroupStats {
            name: self.name,
            count,
            mean: self.sums.into_iter().map(|s| s / count as f64).collect(),
        }
    }
}

impl DataStats {
    /// Computes the statistics of `dataset` (all zeros / empty groups for an empty dataset).
    pub fn of(dataset: &Dataset) -> Self {
        let n_tasks = dataset.n_tasks();
        let mut all = Accumulator::new(String::new(), n_tasks);
        let mut oracle_sums = vec![0.0; n_tasks];
        let mut by_position: Vec<Accumulator> = Vec::new();
        let mut by_model: Vec<Accumulator> = Vec::new();
        let mut model_slots: HashMap<&str, usize> = HashMap::new();
        for example in &dataset.examples {
            for (task, oracle) in oracle_sums.iter_mut().enumerate() {
                *oracle += example
                    .scores
                    .rows()
                    .map(|row| row[task])
                    .fold(f64::NEG_INFINITY, f64::max);
            }
            for (position, (row, model)) in example.scores.rows().zip(&example.models).enumerate() {
                all.add(row);
                if position == by_position.len() {
                    by_position.push(Accumulator::new(position.to_string(), n_tasks));
                }
                by_position[position].add(row);
                let slot = *model_slots.entry(model).or_insert_with(|| {
                    by_model.push(Accumulator::new(model.to_string(), n_tasks));
                    by_model.len() - 1
                });
                by_model[slot].add(row);
            }
        }
        let n_examples = dataset.len();
        let counts = dataset.examples.iter().map(|e| e.n_candidates());
        let mean_or_zero = |sum: f64, n: usize| if n == 0 { 0.0 } else { sum / n as f64 };
        Self {
            n_examples,
            n_candidates: all.count,
            min_candidates: counts.clone().min().unwrap_or(0),
            max_candidates: counts.max().unwrap_or(0),
            metrics: dataset.metrics.clone(),
            weighted: dataset.weighted,
            oracle: oracle_sums
                .into_iter()
                .map(|s| mean_or_zero(s, n_examples))
                .collect(),
            mean: all
                .sums
                .iter()
                .map(|&s| mean_or_zero(s, all.count))
                .collect(),
            by_position: by_position.into_iter().map(Accumulator::finish).collect(),
            by_model: by_model.into_iter().map(Accumulator::finish).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::dataset::{Example, ScoreMatrix};

    fn example(models: &[&str], rows: &[[f64; 2]]) -> Example {
        Example {
            id: String::new(),
            source: String::new(),
            target: String::new(),
            candidates: vec![String::new(); rows.len()],
            models: models.iter().map(|&m| Arc::from(m)).collect(),
            scores: ScoreMatrix::from_rows(&rows.iter().map(|r| r.to_vec()).collect::<Vec<_>>())
                .unwrap(),
            cmp_results: None,
        }
    }

    #[test]
    fn oracle_means_and_groups_by_hand() {
        let dataset = Dataset {
            path: "d.json".into(),
            metrics: vec!["rouge1".into(), "bleu".into()],
            weighted: false,
            examples: vec![
                example(&["a", "b"], &[[0.2, 10.0], [0.6, 5.0]]),
                example(&["b", "a", "c"], &[[0.4, 30.0], [0.0, 0.0], [1.0, 20.0]]),
            ],
        };
        let stats = DataStats::of(&dataset);
        assert_eq!(
            (
                stats.n_examples,
                stats.n_candidates,
                stats.min_candidates,
                stats.max_candidates
            ),
            (2, 5, 2, 3)
        );
        // Oracle: rouge1 (0.6 + 1.0) / 2, bleu (10 + 30) / 2 — each metric's own best.
        assert_eq!(stats.oracle, [0.8, 20.0]);
        assert_eq!(stats.mean, [2.2 / 5.0, 13.0]);
        let positions: Vec<_> = stats
            .by_position
            .iter()
            .map(|g| (g.name.as_str(), g.count, g.mean.clone()))
            .collect();
        assert_eq!(
            positions,
            [
                ("0", 2, vec![0.30000000000000004, 20.0]),
                ("1", 2, vec![0.3, 2.5]),
                ("2", 1, vec![1.0, 20.0])
            ]
        );
        let models: Vec<_> = stats
            .by_model
            .iter()
            .map(|g| (g.name.as_str(), g.count, g.mean.clone()))
            .collect();
        assert_eq!(
            models,
            [
                ("a", 2, vec![0.1, 5.0]),
                ("b", 2, vec![0.5, 17.5]),
                ("c", 1, vec![1.0, 20.0])
            ]
        );
    }

    #[test]
    fn empty_dataset_gives_zeros() {
        let dataset = Dataset {
            path: "d.json".into(),
            metrics: vec!["bleu".into()],
            weighted: true,
            examples: vec![],
        };
        let stats = DataStats::of(&dataset);
        assert_eq!(
            (stats.n_examples, stats.oracle.clone(), stats.mean.clone()),
            (0, vec![0.0], vec![0.0])
        );
        assert!(stats.by_position.is_empty() && stats.by_model.is_empty());
    }
}
