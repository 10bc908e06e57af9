//! What inference does: the mode, its parameters and the batch size.

use serde::{Deserialize, Serialize};

use crate::error::EvalError;

/// How a full comparison matrix becomes candidate scores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// `s_i = (1/n) Σ_j (M_ij − M_ji)` (the mean includes the zero diagonal).
    #[default]
    MaxLogits,
    /// `s_i = Σ_j 1[M_ij > 0] + Σ_j 1[M_ji < 0]` (the reference's `get_scores_from_cmps` mean bug not copied).
    MaxWins,
}

impl Aggregation {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Aggregation::MaxLogits => "max_logits",
            Aggregation::MaxWins => "max_wins",
        }
    }
}

/// Whether a bubble pass carries the best or the worst candidate to the end (`best_or_worst`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BubbleTarget {
    /// `get_best_of_n`: the better candidate moves on; ties go to the later one.
    #[default]
    Best,
    /// `get_worst_of_n`: the worse candidate moves on; ties go to the later one.
    Worst,
}

/// Parameters of bubble inference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BubbleOptions {
    /// Passes of the reference's loop `for i in range(runs): for j in range(i, n − 1)`, clipped to `[1, n]` per
    /// item. Must be at least 1.
    pub num_runs: usize,
    /// Seed of the per-item permutations (`run.seed`).
    pub seed: u64,
    /// Evaluation round, mixed into the permutations so that repeated evaluations (e.g. every `eval_every` steps)
    /// draw fresh ones; 0 for a one-off evaluation.
    pub round: u64,
    /// Best or worst of n.
    pub target: BubbleTarget,
}

impl Default for BubbleOptions {
    fn default() -> Self {
        Self {
            num_runs: 1,
            seed: 42,
            round: 0,
            target: BubbleTarget::Best,
        }
    }
}

/// PairRanker inference mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairInference {
    /// Every ordered pair `i ≠ j` once (`n(n−1)` forwards per item), then an aggregation.
    Full(Aggregation),
    /// Bubble passes over a seeded per-item permutation (`2(n−1)` forwards per item and run).
    Bubble(BubbleOptions),
}

impl PairInference {
    /// `"full"` or `"bubble"`.
    pub fn name(&self) -> &'static str {
        match self {
            PairInference::Full(_) => "full",
            PairInference::Bubble(_) => "bubble",
        }
    }
}

/// Batching of inference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchOptions {
    /// Requests per scorer call: pairs for a pairwise scorer, items for a listwise one (`eval.batch_size`).
    pub batch_size: usize,
    /// Items prepared (tokenized) and scored together; requests of all of them are packed into full batches.
    /// Bounds memory for long inputs; results do not depend on it.
    pub chunk_items: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self {
            batch_size: 32,
            chunk_items: 1024,
        }
    }
}

impl BatchOptions {
    /// Options with `batch_size` and the default chunk.
    pub fn with_batch_size(batch_size: usize) -> Self {
        Self {
            batch_size,
            ..Self::default()
        }
    }

    /// Rejects zero sizes.
    pub fn validate(&self) -> Result<(), EvalError> {
        if self.batch_size == 0 {
            return Err(EvalError::InvalidOption {
                key: "eval.batch_size",
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        if self.chunk_items == 0 {
            return Err(EvalError::InvalidOption {
                key: "chunk_items",
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}

impl BubbleOptions {
    /// Rejects `num_runs = 0`.
    pub fn validate(&self) -> Result<(), EvalError> {
        if self.num_runs == 0 {
            return Err(EvalError::InvalidOption {
                key: "eval.num_runs",
                value: "0".into(),
                reason: "must be at least 1 (it is clipped to the candidate count)".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_sizes_are_rejected_with_their_key() {
        let err = BatchOptions::with_batch_size(0).validate().unwrap_err();
        assert_eq!(err.to_string(), "eval.batch_size = 0: must be at least 1");
        let err = BubbleOptions {
            num_runs: 0,
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert!(err.to_string().starts_with("eval.num_runs = 0:"));
    }

    #[test]
    fn modes_serialize_in_config_spelling() {
        assert_eq!(
            serde_json::to_string(&PairInference::Full(Aggregation::MaxWins)).unwrap(),
            r#"{"full":"max_wins"}"#
        );
        assert_eq!(Aggregation::MaxLogits.as_str(), "max_logits");
    }
}
