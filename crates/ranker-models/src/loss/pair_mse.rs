use burn::tensor::{backend::Backend, Tensor};

/// The pairwise MSE loss (`loss_type = "MSE"`).
///
/// ```text
/// L = mean (left − s_left)² + mean (right − s_right)² − 2 · mean( (left − right)(s_left − s_right) )
/// ```
/// Means are over pairs × tasks. Torch reference: `CrossCompareReranker.compute_loss` with `loss_type == "MSE"` in
/// `llm_blender/pair_ranker/ranker.py` (`F.mse_loss` twice, minus the mean of `2·Δpred·Δscore`).
///
/// # Shapes
/// - `left`, `right`, `left_scores`, `right_scores`: `[pairs, n_tasks]`
/// - output: `[1]`
pub fn pair_mse_loss<B: Backend>(
    left: Tensor<B, 2>,
    right: Tensor<B, 2>,
    left_scores: Tensor<B, 2>,
    right_scores: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let left_mse = (left.clone() - left_scores.clone()).square().mean();
    let right_mse = (right.clone() - right_scores.clone()).square().mean();
    let agreement = ((left - right) * (left_scores - right_scores)).mean() * 2.0;
    left_mse + right_mse - agreement
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::{TensorData, Tolerance};

    #[test]
    fn matches_hand_computed_value() {
        let device = Default::default();
        let left = Tensor::<Flex, 2>::from_floats([[1.0, 0.0]], &device);
        let right = Tensor::<Flex, 2>::from_floats([[0.0, 1.0]], &device);
        let ls = Tensor::<Flex, 2>::from_floats([[0.5, 0.5]], &device);
        let rs = Tensor::<Flex, 2>::from_floats([[0.0, 0.0]], &device);
        // mse_l = (0.25+0.25)/2 = 0.25; mse_r = (0+1)/2 = 0.5; agreement = 2·mean(0.5, −0.5) = 0.
        pair_mse_loss(left, right, ls, rs)
            .into_data()
            .assert_approx_eq::<f32>(&TensorData::from([0.75f32]), Tolerance::absolute(1e-6));
    }
}
