use burn::tensor::{backend::Backend, Int, Tensor, TensorData};

use super::margin_ranking_loss;

/// The SimCLS ranking loss (`loss_type = "simcls"`).
///
/// ```text
/// S          = Σ_tasks scores                        candidate quality, [batch, n]
/// (0)…(n−1)  = candidates sorted by S, best first    (stable: among equal S the lower index comes first)
/// L = mean_{b,i} max(0, sim[b,i] − target_sim[b])                               reference above every candidate
///   + Σ_{i<j} mean_b max(0, sim[b,(j)] − sim[b,(i)] + (j − i)/n)                 better candidates above worse
/// ```
/// `n` is the number of candidates passed in (after sub-sampling). Torch reference: `simcls_loss` in
/// `llm_blender/pair_ranker/loss.py` (`nn.MarginRankingLoss(margin=(j − i)/n)` per sorted pair). The reference sorts
/// with the unstable `torch.argsort`; we fix ties to the stable order.
///
/// # Shapes
/// - `sim`: `[batch, n]` cosine similarity of source and candidate
/// - `target_sim`: `[batch]` cosine similarity of source and reference
/// - `total_scores`: `[batch, n]` metric scores summed over tasks (no gradient)
/// - output: `[1]`
pub fn simcls_loss<B: Backend>(
    sim: Tensor<B, 2>,
    target_sim: Tensor<B, 1>,
    total_scores: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let [batch, n] = sim.dims();
    let device = sim.device();
    let gold = margin_ranking_loss(
        target_sim.unsqueeze_dim::<2>(1).expand([batch, n]),
        sim.clone(),
        0.0,
    );
    let order = descending_stable_order(total_scores);
    let sorted = sim.gather(1, Tensor::<B, 2, Int>::from_data(order, &device));
    let mut loss = gold;
    for offset in 1..n {
        let better = sorted.clone().narrow(1, 0, n - offset);
        let worse = sorted.clone().narrow(1, offset, n - offset);
        // Σ over the (n − offset) pairs at this distance of a batch mean.
        let violations = (worse - better)
            .add_scalar(offset as f64 / n as f64)
            .clamp_min(0.0)
            .sum()
            .div_scalar(batch as f64);
        loss = loss + violations;
    }
    loss
}

fn descending_stable_order<B: Backend>(scores: Tensor<B, 2>) -> TensorData {
    let [batch, n] = scores.dims();
    let values = scores
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .expect("float scores");
    let mut order = Vec::with_capacity(batch * n);
    for row in values.chunks(n) {
        let mut idx: Vec<usize> = (0..n).collect();
        idx.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
        order.extend(idx.into_iter().map(|i| i as i64));
    }
    TensorData::new(order, [batch, n])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::Tolerance;

    #[test]
    fn matches_the_pairwise_definition() {
        let device = Default::default();
        let sim = Tensor::<Flex, 2>::from_floats([[0.2, 0.9, 0.5]], &device);
        let target = Tensor::<Flex, 1>::from_floats([0.6], &device);
        let scores = Tensor::<Flex, 2>::from_floats([[3.0, 1.0, 2.0]], &device);
        // gold: max(0, .2−.6)=0, max(0, .9−.6)=.3, max(0, .5−.6)=0 → mean .1
        // sorted by score: idx 0 (.2), 2 (.5), 1 (.9); n = 3
        // (0,1): max(0, .5−.2+1/3)=.6333; (0,2): max(0, .9−.2+2/3)=1.3667; (1,2): max(0, .9−.5+1/3)=.7333
        let expected = 0.1 + (0.3 + 1.0 / 3.0) + (0.7 + 2.0 / 3.0) + (0.4 + 1.0 / 3.0);
        simcls_loss(sim, target, scores)
            .into_data()
            .assert_approx_eq::<f32>(
                &TensorData::from([expected as f32]),
                Tolerance::absolute(1e-5),
            );
    }

    #[test]
    fn ties_keep_index_order() {
        let device = Default::default();
        let scores = Tensor::<Flex, 2>::from_floats([[1.0, 2.0, 1.0, 2.0]], &device);
        let order = descending_stable_order(scores).into_vec::<i64>().unwrap();
        assert_eq!(order, vec![1, 3, 0, 2]);
    }
}
