//! Full mode: `M[i][j] = f(i, j)` for every ordered pair `i ≠ j` (diagonal 0), then an [`Aggregation`].
// https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/ranker.py#L703
// https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/gpt_eval/utils.py#L5

use ranker_metrics::{competition_ranks, max_logits_scores, max_wins_scores, Matrix};

use super::batcher::{score_requests, PairRequest};
use super::options::Aggregation;
use super::stats::InferenceStats;
use crate::error::EvalError;
use crate::item::{first_argmax, ItemPrediction, ItemText};
use crate::scorer::PairScorer;

/// Every ordered pair `(i, j)`, `i ≠ j`, of an `n`-candidate item in row-major order.
pub fn full_pairs(n: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..n).flat_map(move |i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
}

/// Candidate scores of a full logit matrix (`n × n`, row-major) under `aggregation`.
pub fn aggregate(
    n: usize,
    matrix: &[f64],
    aggregation: Aggregation,
) -> Result<Vec<f64>, ranker_metrics::MetricsError> {
    let matrix = Matrix::new(n, n, matrix.to_vec())?;
    match aggregation {
        Aggregation::MaxLogits => max_logits_scores(&matrix),
        Aggregation::MaxWins => max_wins_scores(&matrix),
    }
}

/// Scores, competition ranks and selection (first best score, as `np.argmax`) of one item's full matrix.
pub fn predict_from_matrix(
    item: &ItemText<'_>,
    matrix: Vec<f64>,
    aggregation: Aggregation,
    keep_matrix: bool,
) -> Result<ItemPrediction, EvalError> {
    let n = item.n_candidates();
    let at_item = |e| EvalError::at_item(item.index, item.id, e);
    let scores = aggregate(n, &matrix, aggregation).map_err(at_item)?;
    let ranks = competition_ranks(&scores).map_err(at_item)?;
    let selected = first_argmax(&scores).expect("scores of a rankable item are not empty");
    Ok(ItemPrediction {
        index: item.index,
        scores,
        ranks,
        selected,
        matrix: keep_matrix.then_some(matrix),
        bubble: None,
    })
}

/// Full-mode inference for a chunk of prepared items: all `Σ n(n−1)` requests in one stream, cut into batches.
pub fn full_predict_chunk<S: PairScorer>(
    scorer: &mut S,
    items: &[ItemText<'_>],
    prepared: &[S::Prepared],
    aggregation: Aggregation,
    keep_matrix: bool,
    batch_size: usize,
    stats: &mut InferenceStats,
) -> Result<Vec<ItemPrediction>, EvalError> {
    let requests: Vec<PairRequest> = items
        .iter()
        .enumerate()
        .flat_map(|(slot, item)| {
            full_pairs(item.n_candidates()).map(move |(left, right)| PairRequest {
                slot,
                left,
                right,
            })
        })
        .collect();
    let logits = score_requests(scorer, items, prepared, &requests, batch_size, stats)?;
    let mut logits = logits.into_iter();
    items
        .iter()
        .map(|item| {
            let n = item.n_candidates();
            let mut matrix = vec![0.0; n * n];
            for ((i, j), value) in full_pairs(n).zip(logits.by_ref()) {
                matrix[i * n + j] = value;
            }
            predict_from_matrix(item, matrix, aggregation, keep_matrix)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_skip_the_diagonal_in_row_major_order() {
        let pairs: Vec<_> = full_pairs(3).collect();
        assert_eq!(pairs, [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)]);
        assert_eq!(full_pairs(11).count(), 110);
    }

    #[test]
    fn selection_is_the_first_best_score() {
        let item = ItemText {
            index: 0,
            id: "x",
            source: "",
            candidates: vec!["a", "b", "c"],
        };
        // Candidates 1 and 2 tie on max_logits.
        let m = vec![0.0, -1.0, -1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let p = predict_from_matrix(&item, m, Aggregation::MaxLogits, false).unwrap();
        assert_eq!(p.ranks, [3, 1, 1]);
        assert_eq!(p.selected, 1);
        assert!(p.matrix.is_none());
    }
}
