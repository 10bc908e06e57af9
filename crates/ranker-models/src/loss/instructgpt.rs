use burn::tensor::{activation::log_sigmoid, backend::Backend, Tensor};

/// The InstructGPT pairwise ranking loss (`loss_type = "instructgpt"`, the default for PairRanker and PairRM).
///
/// ```text
/// d = sign(s_left − s_right)                 per pair p and task t; a constant (no gradient)
/// L = −mean_{p,t} log σ( d · (left − right) )
/// ```
/// A tie (`d = 0`) contributes the constant `log 2` and no gradient.
///
/// Torch reference: `CrossCompareReranker.compute_loss` in `llm_blender/pair_ranker/ranker.py`, which evaluates
/// `-log(sigmoid(left·d − right·d)).mean()`; log-sigmoid gives the same value without overflowing to `inf` for
/// very negative margins.
///
/// # Shapes
/// - `left`, `right`: `[pairs, n_tasks]` head outputs for candidate 1 and candidate 2
/// - `left_scores`, `right_scores`: `[pairs, n_tasks]` metric scores of the two candidates
/// - output: `[1]`
pub fn instructgpt_loss<B: Backend>(
    left: Tensor<B, 2>,
    right: Tensor<B, 2>,
    left_scores: Tensor<B, 2>,
    right_scores: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let direction = (left_scores - right_scores).sign().detach();
    log_sigmoid((left - right) * direction).mean().neg()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::{TensorData, Tolerance};

    #[test]
    fn ties_cost_log_two_and_order_follows_scores() {
        let device = Default::default();
        let left = Tensor::<Flex, 2>::from_floats([[1.0], [0.5], [2.0]], &device);
        let right = Tensor::<Flex, 2>::from_floats([[0.0], [0.5], [1.0]], &device);
        let ls = Tensor::<Flex, 2>::from_floats([[0.9], [0.3], [0.1]], &device);
        let rs = Tensor::<Flex, 2>::from_floats([[0.1], [0.3], [0.8]], &device);
        // pair 0: d=+1, margin 1 → −log σ(1); pair 1: tie → log 2; pair 2: d=−1, margin 1 → −log σ(−1).
        let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
        let expected = (-(sig(1.0).ln()) + 2f64.ln() - sig(-1.0).ln()) / 3.0;
        instructgpt_loss(left, right, ls, rs)
            .into_data()
            .assert_approx_eq::<f32>(
                &TensorData::from([expected as f32]),
                Tolerance::absolute(1e-6),
            );
    }
}
