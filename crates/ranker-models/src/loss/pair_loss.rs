use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use super::{instructgpt_loss, pair_bce_loss, pair_mse_loss};

/// Which pairwise loss trains a PairRanker: the reference's `loss_type`, spelled as in `ranker_config.json`.
///
/// `open_instruct_BCE` (a HEAD-only variant for 0/1 labels) is not supported; it fails to deserialize.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PairLoss {
    /// [`instructgpt_loss`]: `−mean log σ(sign(Δs)·(left − right))`.
    #[default]
    #[serde(rename = "instructgpt")]
    InstructGpt,
    /// [`pair_bce_loss`]: BCE of each side against "this side scored higher".
    #[serde(rename = "BCE")]
    Bce,
    /// [`pair_mse_loss`]: regress each side on its score, minus the pairwise agreement term.
    #[serde(rename = "MSE")]
    Mse,
}

impl PairLoss {
    /// The loss of one batch of pairs.
    ///
    /// # Shapes
    /// - `left`, `right`: `[pairs, n_tasks]` head outputs for candidate 1 / candidate 2
    /// - `left_scores`, `right_scores`: `[pairs, n_tasks]` metric scores
    /// - output: `[1]`
    pub fn forward<B: Backend>(
        &self,
        left: Tensor<B, 2>,
        right: Tensor<B, 2>,
        left_scores: Tensor<B, 2>,
        right_scores: Tensor<B, 2>,
    ) -> Tensor<B, 1> {
        match self {
            PairLoss::InstructGpt => instructgpt_loss(left, right, left_scores, right_scores),
            PairLoss::Bce => pair_bce_loss(left, right, left_scores, right_scores),
            PairLoss::Mse => pair_mse_loss(left, right, left_scores, right_scores),
        }
    }

    /// The reference's spelling (`"instructgpt"`, `"BCE"`, `"MSE"`).
    pub fn as_str(&self) -> &'static str {
        match self {
            PairLoss::InstructGpt => "instructgpt",
            PairLoss::Bce => "BCE",
            PairLoss::Mse => "MSE",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_the_reference_spelling() {
        for loss in [PairLoss::InstructGpt, PairLoss::Bce, PairLoss::Mse] {
            let json = serde_json::to_string(&loss).unwrap();
            assert_eq!(json, format!("\"{}\"", loss.as_str()));
            assert_eq!(serde_json::from_str::<PairLoss>(&json).unwrap(), loss);
        }
        assert!(serde_json::from_str::<PairLoss>("\"open_instruct_BCE\"").is_err());
    }
}
