use burn::tensor::{backend::Backend, Tensor};

use super::bce_with_logits;

/// SummaReranker's labels: 1 for the best candidate of each metric (ties all get 1), else 0.
///
/// ```text
/// labels[b, i, t] = 1[ s[b, i, t] == max_j s[b, j, t] ]
/// ```
/// Compute them over **all** candidates of an item, before any candidate sub-sampling, then select the same
/// candidates from both scores and labels (torch reference: `SummaReranker.forward` in
/// `llm_blender/pair_ranker/ranker.py`).
///
/// # Shapes
/// - `scores`: `[batch, n_candidates, n_tasks]`
/// - output: `[batch, n_candidates, n_tasks]` of 0.0 / 1.0
pub fn best_candidate_labels<B: Backend>(scores: Tensor<B, 3>) -> Tensor<B, 3> {
    let best = scores.clone().max_dim(1).expand(scores.shape());
    scores.equal(best).float()
}

/// SummaReranker's `MoE_BCE` loss: BCE of every candidate's per-task logit against "is the best for this
/// metric", plus the mixture-of-experts load-balancing loss.
///
/// ```text
/// L = mean_{b,i,t} BCEWithLogits(pred[b,i,t], labels[b,i,t]) + aux_loss
/// ```
/// Torch reference: `SummaReranker.forward` in `llm_blender/pair_ranker/ranker.py`
/// (`F.binary_cross_entropy_with_logits(pred_scores, labels)` then `loss += aux_loss`).
///
/// # Shapes
/// - `pred`: `[batch, n_candidates, n_tasks]` tower logits
/// - `labels`: `[batch, n_candidates, n_tasks]` from [`best_candidate_labels`]
/// - `aux_loss`: `[1]`
/// - output: `[1]`
pub fn moe_bce_loss<B: Backend>(
    pred: Tensor<B, 3>,
    labels: Tensor<B, 3>,
    aux_loss: Tensor<B, 1>,
) -> Tensor<B, 1> {
    bce_with_logits(pred, labels) + aux_loss
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::TensorData;

    #[test]
    fn every_tied_best_is_labelled() {
        let device = Default::default();
        let scores =
            Tensor::<Flex, 3>::from_floats([[[0.1, 3.0], [0.5, 1.0], [0.5, 2.0]]], &device);
        best_candidate_labels(scores).into_data().assert_eq(
            &TensorData::from([[[0.0f32, 1.0], [1.0, 0.0], [1.0, 0.0]]]),
            false,
        );
    }
}
