use burn::tensor::{backend::Backend, Tensor};

use super::bce_with_logits;

/// The pairwise BCE loss (`loss_type = "BCE"`).
///
/// ```text
/// yL = 1[s_left > s_right],  yR = 1[s_left < s_right]      (a tie gives both labels 0)
/// L  = ( BCEWithLogits(left, yL) + BCEWithLogits(right, yR) ) / 2       each a mean over pairs × tasks
/// ```
/// Torch reference: `CrossCompareReranker.compute_loss` with `loss_type == "BCE"` in
/// `llm_blender/pair_ranker/ranker.py` (`F.binary_cross_entropy_with_logits`).
///
/// # Shapes
/// - `left`, `right`, `left_scores`, `right_scores`: `[pairs, n_tasks]`
/// - output: `[1]`
pub fn pair_bce_loss<B: Backend>(
    left: Tensor<B, 2>,
    right: Tensor<B, 2>,
    left_scores: Tensor<B, 2>,
    right_scores: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let difference = left_scores - right_scores;
    let left_labels = difference.clone().greater_elem(0.0).float();
    let right_labels = difference.lower_elem(0.0).float();
    (bce_with_logits(left, left_labels) + bce_with_logits(right, right_labels)) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::{TensorData, Tolerance};

    #[test]
    fn a_tie_labels_both_sides_negative() {
        let device = Default::default();
        let zero = || Tensor::<Flex, 2>::zeros([1, 1], &device);
        let scores = Tensor::<Flex, 2>::from_floats([[0.5]], &device);
        // Logits 0 with label 0 on both sides: each BCE is ln 2.
        pair_bce_loss(zero(), zero(), scores.clone(), scores)
            .into_data()
            .assert_approx_eq::<f32>(&TensorData::from([2f32.ln()]), Tolerance::absolute(1e-6));
    }
}
