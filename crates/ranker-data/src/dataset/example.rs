//! [`Dataset`], [`Example`] and [`ScoreMatrix`]: the compact in-memory form of a loaded file.

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::DataError;
use crate::schema::CmpField;

/// Candidate × task scores of one example, row-major in one allocation (`[n_candidates][n_tasks]`).
///
/// Task `t` is the `t`-th configured metric ([`Dataset::metrics`]); values are already multiplied by the metric
/// weights when the dataset was loaded with weights on.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreMatrix {
    n_tasks: usize,
    values: Vec<f64>,
}

impl ScoreMatrix {
    /// A matrix from row-major `values`; `None` when `n_tasks` is 0 or does not divide `values.len()`.
    pub fn new(n_tasks: usize, values: Vec<f64>) -> Option<Self> {
        (n_tasks > 0 && values.len().is_multiple_of(n_tasks)).then_some(Self { n_tasks, values })
    }

    /// A matrix from one row per candidate; `None` when rows are empty or differ in length.
    pub fn from_rows(rows: &[Vec<f64>]) -> Option<Self> {
        let n_tasks = rows.first()?.len();
        if rows.iter().any(|row| row.len() != n_tasks) {
            return None;
        }
        Self::new(n_tasks, rows.concat())
    }

    /// Number of candidates (rows).
    pub fn n_candidates(&self) -> usize {
        self.values.len() / self.n_tasks
    }

    /// Number of tasks (columns, one per metric).
    pub fn n_tasks(&self) -> usize {
        self.n_tasks
    }

    /// The scores of candidate `candidate`, one per task. Panics when out of range.
    pub fn row(&self, candidate: usize) -> &[f64] {
        &self.values[candidate * self.n_tasks..(candidate + 1) * self.n_tasks]
    }

    /// The score of candidate `candidate` on task `task`. Panics when out of range.
    pub fn get(&self, candidate: usize, task: usize) -> f64 {
        assert!(
            task < self.n_tasks,
            "task {task} out of range for {} tasks",
            self.n_tasks
        );
        self.values[candidate * self.n_tasks + task]
    }

    /// Rows in candidate order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &[f64]> {
        self.values.chunks_exact(self.n_tasks)
    }

    /// All values, row-major.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// A matrix of the given rows, in the given order (repeats allowed). Panics when an index is out of range.
    pub fn select(&self, candidates: &[usize]) -> Self {
        let mut values = Vec::with_capacity(candidates.len() * self.n_tasks);
        for &candidate in candidates {
            values.extend_from_slice(self.row(candidate));
        }
        Self {
            n_tasks: self.n_tasks,
            values,
        }
    }
}

/// One loaded item: what the rankers train and evaluate on.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The item's id, or its 0-based index in the file when it had none.
    pub id: String,
    /// `instruction + input`, no separator (spec quirk 1).
    pub source: String,
    /// The reference output (the first one when `output` is a list).
    pub target: String,
    /// Candidate texts after filtering and `n_candidates`, in file order.
    pub candidates: Vec<String>,
    /// The model of each candidate (names shared across examples).
    pub models: Vec<Arc<str>>,
    /// `[n_candidates][n_tasks]` scores.
    pub scores: ScoreMatrix,
    /// ChatGPT pairwise verdicts, when the item has them.
    pub cmp_results: Option<CmpField>,
}

impl Example {
    /// Number of candidates.
    pub fn n_candidates(&self) -> usize {
        self.candidates.len()
    }
}

/// A loaded data file.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The file it was loaded from (for error messages).
    pub path: PathBuf,
    /// The kept metrics; index = task index of every [`ScoreMatrix`].
    pub metrics: Vec<String>,
    /// Whether scores were multiplied by [`metric_weight`](crate::metric_weight).
    pub weighted: bool,
    /// The examples, in file order.
    pub examples: Vec<Example>,
}

impl Dataset {
    /// Number of tasks (kept metrics).
    pub fn n_tasks(&self) -> usize {
        self.metrics.len()
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.examples.len()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// The common candidate count, for callers that need `[batch, n_candidates]` rectangles (the reference's
    /// collators do). Loading allows ragged counts; this names the first example that differs from example 0.
    /// `Ok(0)` for an empty dataset.
    pub fn check_rectangular(&self) -> Result<usize, DataError> {
        let Some(first) = self.examples.first() else {
            return Ok(0);
        };
        let expected = first.n_candidates();
        match self
            .examples
            .iter()
            .enumerate()
            .find(|(_, example)| example.n_candidates() != expected)
        {
            None => Ok(expected),
            Some((index, example)) => Err(DataError::NotRectangular {
                path: self.path.clone(),
                index,
                id: example.id.clone(),
                found: example.n_candidates(),
                expected,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(id: &str, n: usize) -> Example {
        Example {
            id: id.into(),
            source: String::new(),
            target: String::new(),
            candidates: vec![String::new(); n],
            models: vec![Arc::from("m"); n],
            scores: ScoreMatrix::new(1, vec![0.0; n]).unwrap(),
            cmp_results: None,
        }
    }

    #[test]
    fn score_matrix_is_row_major() {
        let scores =
            ScoreMatrix::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0], vec![5.0, 6.0]]).unwrap();
        assert_eq!((scores.n_candidates(), scores.n_tasks()), (3, 2));
        assert_eq!(scores.row(1), [3.0, 4.0]);
        assert_eq!(scores.get(2, 0), 5.0);
        assert_eq!(
            scores.rows().map(|row| row[1]).collect::<Vec<_>>(),
            [2.0, 4.0, 6.0]
        );
        assert_eq!(
            scores.select(&[2, 0, 2]).values(),
            [5.0, 6.0, 1.0, 2.0, 5.0, 6.0]
        );
    }

    #[test]
    fn score_matrix_rejects_bad_shapes() {
        assert!(ScoreMatrix::new(0, vec![]).is_none());
        assert!(ScoreMatrix::new(2, vec![1.0, 2.0, 3.0]).is_none());
        assert!(ScoreMatrix::from_rows(&[vec![1.0], vec![1.0, 2.0]]).is_none());
        assert!(ScoreMatrix::from_rows(&[]).is_none());
    }

    #[test]
    #[should_panic(expected = "task 2 out of range")]
    fn get_checks_the_task_index() {
        ScoreMatrix::new(2, vec![1.0, 2.0, 3.0, 4.0])
            .unwrap()
            .get(0, 2);
    }

    #[test]
    fn rectangle_check_names_the_first_ragged_example() {
        let mut dataset = Dataset {
            path: "d.json".into(),
            metrics: vec!["bleu".into()],
            weighted: true,
            examples: vec![],
        };
        assert_eq!(dataset.check_rectangular().unwrap(), 0);
        dataset.examples = vec![example("a", 3), example("b", 3)];
        assert_eq!(dataset.check_rectangular().unwrap(), 3);
        dataset.examples.push(example("c", 2));
        let err = dataset.check_rectangular().unwrap_err();
        assert!(
            err.to_string()
                .starts_with(r#"d.json: example 2 (id "c") has 2 candidates, expected 3"#),
            "{err}"
        );
    }
}
