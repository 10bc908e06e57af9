//! Listwise scoring (SummaReranker, SimCLS): one score per candidate, selection by the first best score
//! (`compute_metrics_for_scr`'s `argmax(pred)`).

use std::time::Instant;

use ranker_metrics::{competition_ranks, MetricsError};

use super::stats::InferenceStats;
use crate::error::EvalError;
use crate::item::{first_argmax, ItemPrediction, ItemText};
use crate::scorer::ListScorer;

/// Listwise inference for a chunk: prepares the items, scores them `batch_size` items per call, ranks.
pub fn listwise_predict_chunk<S: ListScorer>(
    scorer: &mut S,
    items: &[ItemText<'_>],
    batch_size: usize,
    stats: &mut InferenceStats,
) -> Result<Vec<ItemPrediction>, EvalError> {
    let started = Instant::now();
    let prepared = items
        .iter()
        .map(|item| scorer.prepare(item))
        .collect::<Result<Vec<_>, _>>()?;
    stats.scorer_time += started.elapsed();
    let mut predictions = Vec::with_capacity(items.len());
    for (batch_items, batch_prepared) in items
        .chunks(batch_size.max(1))
        .zip(prepared.chunks(batch_size.max(1)))
    {
        let refs: Vec<&S::Prepared> = batch_prepared.iter().collect();
        let started = Instant::now();
        let scores = scorer.score_lists(&refs)?;
        stats.scorer_time += started.elapsed();
        stats.batches += 1;
        stats.forwards += batch_items.len() as u64;
        if scores.len() != batch_items.len() {
            return Err(EvalError::ScorerOutput {
                what: "listwise scoring",
                found: scores.len(),
                expected: batch_items.len(),
            });
        }
        for (item, scores) in batch_items.iter().zip(scores) {
            predictions.push(predict_from_scores(item, scores)?);
        }
    }
    Ok(predictions)
}

/// Ranks and selection of one item's candidate scores.
pub fn predict_from_scores(
    item: &ItemText<'_>,
    scores: Vec<f64>,
) -> Result<ItemPrediction, EvalError> {
    if scores.len() != item.n_candidates() {
        return Err(EvalError::ScoreCount {
            index: item.index,
            id: item.id.to_owned(),
            found: scores.len(),
            expected: item.n_candidates(),
        });
    }
    let ranks =
        competition_ranks(&scores).map_err(|e| EvalError::at_item(item.index, item.id, e))?;
    let selected = first_argmax(&scores).ok_or_else(|| {
        EvalError::at_item(
            item.index,
            item.id,
            MetricsError::NanScore {
                what: "candidate scores",
                index: 0,
            },
        )
    })?;
    Ok(ItemPrediction {
        index: item.index,
        scores,
        ranks,
        selected,
        matrix: None,
        bubble: None,
    })
}
