//! What inference takes ([`ItemText`]) and what it gives back per item ([`ItemPrediction`]).

use ranker_data::Example;
use serde::{Deserialize, Serialize};

use crate::error::EvalError;

/// One item to rank, borrowed from its owner.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemText<'a> {
    /// 0-based position in the whole input (not in a shard): bubble permutations and error messages use it.
    pub index: usize,
    /// The item's id (for error messages and predictions).
    pub id: &'a str,
    /// The ranker's source text, `instruction + input` with no separator.
    pub source: &'a str,
    /// The candidate texts.
    pub candidates: Vec<&'a str>,
}

impl<'a> ItemText<'a> {
    /// The item view of a loaded example at input position `index`.
    pub fn from_example(index: usize, example: &'a Example) -> Self {
        Self {
            index,
            id: &example.id,
            source: &example.source,
            candidates: example.candidates.iter().map(String::as_str).collect(),
        }
    }

    /// Views of all `examples`, indexed by their position.
    pub fn from_examples(examples: &'a [Example]) -> Vec<Self> {
        examples
            .iter()
            .enumerate()
            .map(|(index, example)| Self::from_example(index, example))
            .collect()
    }

    /// Number of candidates.
    pub fn n_candidates(&self) -> usize {
        self.candidates.len()
    }

    /// Fails unless the item has at least two candidates.
    pub fn check_rankable(&self) -> Result<(), EvalError> {
        if self.candidates.len() < 2 {
            return Err(EvalError::TooFewCandidates {
                index: self.index,
                id: self.id.to_owned(),
                found: self.candidates.len(),
            });
        }
        Ok(())
    }
}

/// One comparison of a bubble pass, as the reference's `select_process` column: the candidate at position `j`
/// (`cur`), the one at `j + 1` (`next`), and the one that moved on (`better`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BubbleStep {
    /// `permu[j]` before the comparison.
    pub cur: u32,
    /// `permu[j + 1]` before the comparison.
    pub next: u32,
    /// The candidate placed at `j + 1` (the better one; the worse one with a "worst" target).
    pub better: u32,
}

impl BubbleStep {
    /// The candidate that stayed behind (`cur` when `next` moved on, else `next`), as the reference's `rest_idx`.
    pub fn loser(&self) -> u32 {
        if self.cur == self.better {
            self.next
        } else {
            self.cur
        }
    }
}

/// What inference produced for one item.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemPrediction {
    /// 0-based position in the input.
    pub index: usize,
    /// One score per candidate, higher is better: the aggregation of the pairwise matrix (full), the elimination
    /// order (bubble: see [`bubble_elimination_scores`](crate::bubble_elimination_scores)) or the model's score
    /// (listwise).
    pub scores: Vec<f64>,
    /// Competition ranks of `scores` (1 = best, ties share the best rank).
    pub ranks: Vec<u32>,
    /// The selected candidate: the first best-scored one (full, listwise: `np.argmax`) or the bubble winner.
    pub selected: usize,
    /// Full mode: the `n × n` logit matrix `M[i][j] = f(i, j)`, row-major, diagonal 0, when it was asked for.
    pub matrix: Option<Vec<f64>>,
    /// Bubble mode: every comparison in order (the reference's `select_process`).
    pub bubble: Option<Vec<BubbleStep>>,
}

/// One line of `eval/predictions.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PredictionLine {
    /// The item's id.
    pub id: String,
    /// Scores, one per candidate.
    pub scores: Vec<f64>,
    /// Competition ranks, one per candidate.
    pub ranks: Vec<u32>,
    /// The selected candidate's index.
    pub selected: u32,
    /// Bubble mode only: `[cur, next, better]` per comparison, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_process: Option<Vec<[u32; 3]>>,
}

impl PredictionLine {
    /// The line for `prediction` of the item with id `id`.
    pub fn new(id: &str, prediction: &ItemPrediction) -> Self {
        Self {
            id: id.to_owned(),
            scores: prediction.scores.clone(),
            ranks: prediction.ranks.clone(),
            selected: prediction.selected as u32,
            select_process: prediction
                .bubble
                .as_ref()
                .map(|steps| steps.iter().map(|s| [s.cur, s.next, s.better]).collect()),
        }
    }
}

/// Index of the first maximum (`np.argmax`); NaN never wins. `None` for an empty slice.
pub(crate) fn first_argmax(values: &[f64]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, &v) in values.iter().enumerate() {
        match best {
            None if !v.is_nan() => best = Some(i),
            Some(b) if v > values[b] => best = Some(i),
            _ => {}
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(first_argmax(&[1.0, 3.0, 3.0, 2.0]), Some(1));
        assert_eq!(first_argmax(&[f64::NAN, 0.0]), Some(1));
        assert_eq!(first_argmax(&[]), None);
    }

    #[test]
    fn loser_is_the_one_left_behind() {
        let step = BubbleStep {
            cur: 2,
            next: 5,
            better: 5,
        };
        assert_eq!(step.loser(), 2);
        let step = BubbleStep {
            cur: 2,
            next: 5,
            better: 2,
        };
        assert_eq!(step.loser(), 5);
    }

    #[test]
    fn fewer_than_two_candidates_is_an_error() {
        let item = ItemText {
            index: 4,
            id: "a/1",
            source: "s",
            candidates: vec!["only"],
        };
        assert_eq!(
            item.check_rankable().unwrap_err().to_string(),
            r#"item 4 (id "a/1"): 1 candidate(s), at least 2 are needed to rank"#
        );
    }

    #[test]
    fn prediction_lines_carry_the_select_process_in_bubble_mode() {
        let prediction = ItemPrediction {
            index: 0,
            scores: vec![2.0, 3.0],
            ranks: vec![2, 1],
            selected: 1,
            matrix: None,
            bubble: Some(vec![BubbleStep {
                cur: 0,
                next: 1,
                better: 1,
            }]),
        };
        let line = serde_json::to_string(&PredictionLine::new("x", &prediction)).unwrap();
        assert_eq!(
            line,
            r#"{"id":"x","scores":[2.0,3.0],"ranks":[2,1],"selected":1,"select_process":[[0,1,1]]}"#
        );
    }
}
