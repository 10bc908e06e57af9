//! Metric scores of a selection: the trainer's eval-in-the-loop numbers and the report's first block.
// https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/trainer.py#L113

use ranker_data::ScoreMatrix;
use serde::{Deserialize, Serialize};

use super::values::{finite_or_null, NamedValues};
use crate::error::EvalError;
use crate::item::first_argmax;

/// Per-metric means of a selection against the reference's baselines, as `compute_metrics_for_pairranker`
/// (named by metric rather than `metric_<t>`), plus the random baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelectionMetrics {
    /// Examples averaged over.
    pub n_examples: usize,
    /// `sel/<metric>` of the first metric: what picks the best checkpoint.
    #[serde(with = "finite_or_null")]
    pub dev_score: f64,
    /// Mean score of the selected candidate.
    pub sel: NamedValues,
    /// Mean score of the candidate with the best mean-over-metrics score (first on ties, `np.argmax`).
    pub oracle: NamedValues,
    /// Mean score of candidate 0.
    pub top_beam: NamedValues,
    /// Expected score of a uniformly random candidate: the mean over candidates, averaged over examples.
    pub random: NamedValues,
    /// `sel / top_beam − 1`.
    pub gain: NamedValues,
}

impl SelectionMetrics {
    /// The fields of a `metrics.jsonl` eval line: `dev_score` and `sel/<m>`, `oracle/<m>`, `top_beam/<m>`,
    /// `random/<m>`, `gain/<m>` for every metric, in metric order.
    pub fn log_fields(&self) -> Vec<(String, f64)> {
        let mut fields = vec![("dev_score".to_owned(), self.dev_score)];
        for (prefix, values) in [
            ("sel", &self.sel),
            ("oracle", &self.oracle),
            ("top_beam", &self.top_beam),
            ("random", &self.random),
            ("gain", &self.gain),
        ] {
            fields.extend(values.0.iter().map(|(m, v)| (format!("{prefix}/{m}"), *v)));
        }
        fields
    }
}

/// Index of the candidate with the best mean-over-metrics score (first on ties).
pub fn oracle_index(scores: &ScoreMatrix) -> usize {
    let means: Vec<f64> = scores
        .rows()
        .map(|row| row.iter().sum::<f64>() / row.len() as f64)
        .collect();
    first_argmax(&means).unwrap_or(0)
}

/// The selection metrics of `selected[e]` (a candidate index per example) over `scores[e]`
/// (`[n_candidates][n_metrics]`, metric `t` named `metrics[t]`).
///
/// ```text
/// sel[t]      = mean_e scores[e][selected[e]][t]
/// oracle[t]   = mean_e scores[e][argmax_c mean_t' scores[e][c][t']][t]
/// top_beam[t] = mean_e scores[e][0][t]
/// random[t]   = mean_e mean_c scores[e][c][t]
/// gain[t]     = sel[t] / top_beam[t] − 1
/// dev_score   = sel[0]
/// ```
pub fn selection_metrics(
    scores: &[&ScoreMatrix],
    metrics: &[String],
    selected: &[usize],
) -> Result<SelectionMetrics, EvalError> {
    if scores.is_empty() {
        return Err(EvalError::NoItems {
            what: "selection metrics",
        });
    }
    if scores.len() != selected.len() {
        return Err(EvalError::ScorerOutput {
            what: "selection metrics",
            found: selected.len(),
            expected: scores.len(),
        });
    }
    let n_tasks = metrics.len();
    for (index, (matrix, &choice)) in scores.iter().zip(selected).enumerate() {
        if matrix.n_tasks() != n_tasks || choice >= matrix.n_candidates() {
            return Err(EvalError::InvalidOption {
                key: "selection",
                value: format!("example {index}: candidate {choice}"),
                reason: format!(
                    "the example has {} candidates × {} metrics, expected {n_tasks} metrics",
                    matrix.n_candidates(),
                    matrix.n_tasks()
                ),
            });
        }
    }
    let n = scores.len() as f64;
    let column_mean = |pick: &dyn Fn(usize, usize) -> f64| -> Vec<f64> {
        (0..n_tasks)
            .map(|t| (0..scores.len()).map(|e| pick(e, t)).sum::<f64>() / n)
            .collect()
    };
    let oracles: Vec<usize> = scores.iter().map(|m| oracle_index(m)).collect();
    let sel = column_mean(&|e, t| scores[e].get(selected[e], t));
    let oracle = column_mean(&|e, t| scores[e].get(oracles[e], t));
    let top_beam = column_mean(&|e, t| scores[e].get(0, t));
    let random = column_mean(&|e, t| {
        let m = scores[e];
        (0..m.n_candidates()).map(|c| m.get(c, t)).sum::<f64>() / m.n_candidates() as f64
    });
    let gain: Vec<f64> = sel
        .iter()
        .zip(&top_beam)
        .map(|(s, b)| s / b - 1.0)
        .collect();
    Ok(SelectionMetrics {
        n_examples: scores.len(),
        dev_score: sel[0],
        sel: NamedValues::zip(metrics, sel),
        oracle: NamedValues::zip(metrics, oracle),
        top_beam: NamedValues::zip(metrics, top_beam),
        random: NamedValues::zip(metrics, random),
        gain: NamedValues::zip(metrics, gain),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_reference_formulas() {
        let a = ScoreMatrix::from_rows(&[vec![1.0, 0.0], vec![0.0, 3.0], vec![2.0, 2.0]]).unwrap();
        let b = ScoreMatrix::from_rows(&[vec![4.0, 2.0], vec![1.0, 1.0], vec![3.0, 3.0]]).unwrap();
        let metrics = vec!["m1".to_owned(), "m2".to_owned()];
        let s = selection_metrics(&[&a, &b], &metrics, &[1, 2]).unwrap();
        assert_eq!(s.sel.0, [("m1".into(), 1.5), ("m2".into(), 3.0)]);
        // a: means 0.5, 1.5, 2.0 → candidate 2; b: means 3, 1, 3 → first maximum, candidate 0.
        assert_eq!(s.oracle.get("m1"), Some(3.0));
        assert_eq!(s.oracle.get("m2"), Some(2.0));
        assert_eq!(s.top_beam.get("m1"), Some(2.5));
        assert_eq!(s.random.get("m2"), Some((5.0 / 3.0 + 2.0) / 2.0));
        assert_eq!(s.gain.get("m1"), Some(1.5 / 2.5 - 1.0));
        assert_eq!(s.dev_score, 1.5);
        let fields = s.log_fields();
        assert_eq!(fields[0], ("dev_score".into(), 1.5));
        assert_eq!(fields[1], ("sel/m1".into(), 1.5));
        assert_eq!(fields.len(), 11);
    }
}
