//! Inference over a list of items: validation, chunking, and the mode's driver.

use std::time::Instant;

use super::batcher::prepare_pairs;
use super::bubble::bubble_predict_chunk;
use super::full::full_predict_chunk;
use super::listwise::listwise_predict_chunk;
use super::options::{BatchOptions, PairInference};
use super::stats::InferenceStats;
use crate::error::EvalError;
use crate::item::{ItemPrediction, ItemText};
use crate::scorer::{ListScorer, PairScorer};

/// Fails on the first item with fewer than two candidates (before any model work).
pub fn check_items(items: &[ItemText<'_>]) -> Result<(), EvalError> {
    items.iter().try_for_each(ItemText::check_rankable)
}

/// PairRanker inference over `items` (any number, any candidate counts ≥ 2), in item order.
///
/// Items are processed `batch.chunk_items` at a time: each chunk is prepared, then its comparisons — all of
/// them in full mode, one step of every item at a time in bubble mode — are scored `batch.batch_size` per call.
/// `keep_matrix` keeps each full-mode matrix in the prediction.
pub fn predict_pairwise<S: PairScorer>(
    scorer: &mut S,
    items: &[ItemText<'_>],
    mode: &PairInference,
    batch: &BatchOptions,
    keep_matrix: bool,
) -> Result<(Vec<ItemPrediction>, InferenceStats), EvalError> {
    batch.validate()?;
    if let PairInference::Bubble(options) = mode {
        options.validate()?;
    }
    check_items(items)?;
    let started = Instant::now();
    let mut stats = InferenceStats::default();
    let mut predictions = Vec::with_capacity(items.len());
    for chunk in items.chunks(batch.chunk_items) {
        let prepared = prepare_pairs(scorer, chunk, &mut stats)?;
        let chunk_predictions = match mode {
            PairInference::Full(aggregation) => full_predict_chunk(
                scorer,
                chunk,
                &prepared,
                *aggregation,
                keep_matrix,
                batch.batch_size,
                &mut stats,
            )?,
            PairInference::Bubble(options) => bubble_predict_chunk(
                scorer,
                chunk,
                &prepared,
                options,
                batch.batch_size,
                &mut stats,
            )?,
        };
        predictions.extend(chunk_predictions);
    }
    stats.wall_time = started.elapsed();
    tracing::debug!(
        items = items.len(),
        forwards = stats.forwards,
        batches = stats.batches,
        "pairwise inference done"
    );
    Ok((predictions, stats))
}

/// Listwise inference (SummaReranker, SimCLS) over `items`, in item order; `batch.batch_size` items per call.
pub fn predict_listwise<S: ListScorer>(
    scorer: &mut S,
    items: &[ItemText<'_>],
    batch: &BatchOptions,
) -> Result<(Vec<ItemPrediction>, InferenceStats), EvalError> {
    batch.validate()?;
    check_items(items)?;
    let started = Instant::now();
    let mut stats = InferenceStats::default();
    let mut predictions = Vec::with_capacity(items.len());
    for chunk in items.chunks(batch.chunk_items) {
        predictions.extend(listwise_predict_chunk(
            scorer,
            chunk,
            batch.batch_size,
            &mut stats,
        )?);
    }
    stats.wall_time = started.elapsed();
    Ok((predictions, stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inference::{Aggregation, BubbleOptions};
    use crate::scorer::SyntheticScorer;

    fn texts(n_items: usize, n: usize) -> Vec<(String, Vec<String>)> {
        (0..n_items)
            .map(|i| {
                (
                    format!("source {i}"),
                    (0..n).map(|c| format!("candidate {i}.{c}")).collect(),
                )
            })
            .collect()
    }

    fn items(texts: &[(String, Vec<String>)]) -> Vec<ItemText<'_>> {
        texts
            .iter()
            .enumerate()
            .map(|(index, (source, candidates))| ItemText {
                index,
                id: "x",
                source,
                candidates: candidates.iter().map(String::as_str).collect(),
            })
            .collect()
    }

    #[test]
    fn forwards_are_n_n_minus_1_in_full_and_2_n_minus_1_in_bubble() {
        let texts = texts(7, 11);
        let items = items(&texts);
        let mut scorer = SyntheticScorer::default();
        let batch = BatchOptions {
            batch_size: 16,
            chunk_items: 3,
        };
        let (_, full) = predict_pairwise(
            &mut scorer,
            &items,
            &PairInference::Full(Aggregation::MaxLogits),
            &batch,
            false,
        )
        .unwrap();
        assert_eq!(full.forwards, 7 * 110);
        let (predictions, bubble) = predict_pairwise(
            &mut scorer,
            &items,
            &PairInference::Bubble(BubbleOptions::default()),
            &batch,
            false,
        )
        .unwrap();
        assert_eq!(bubble.forwards, 7 * 20);
        assert_eq!(scorer.calls, 7 * 110 + 7 * 20);
        assert!(predictions
            .iter()
            .all(|p| p.bubble.as_ref().unwrap().len() == 10));
    }

    #[test]
    fn results_do_not_depend_on_batching_or_chunking() {
        let texts = texts(9, 5);
        let items = items(&texts);
        for mode in [
            PairInference::Full(Aggregation::MaxLogits),
            PairInference::Full(Aggregation::MaxWins),
            PairInference::Bubble(BubbleOptions {
                num_runs: 2,
                ..Default::default()
            }),
        ] {
            let run = |batch_size, chunk_items| {
                predict_pairwise(
                    &mut SyntheticScorer::default(),
                    &items,
                    &mode,
                    &BatchOptions {
                        batch_size,
                        chunk_items,
                    },
                    true,
                )
                .unwrap()
                .0
            };
            let reference = run(1, 1);
            assert_eq!(run(7, 4), reference);
            assert_eq!(run(1000, 1000), reference);
        }
    }

    #[test]
    fn bad_items_fail_before_any_scoring() {
        let texts = vec![
            ("s".to_string(), vec!["a".to_string(), "b".to_string()]),
            ("s".to_string(), vec!["a".to_string()]),
        ];
        let items = items(&texts);
        let mut scorer = SyntheticScorer::default();
        let err = predict_pairwise(
            &mut scorer,
            &items,
            &PairInference::Full(Aggregation::MaxLogits),
            &BatchOptions::default(),
            false,
        )
        .unwrap_err();
        assert!(err
            .to_string()
            .starts_with("item 1 (id \"x\"): 1 candidate(s)"));
        assert_eq!(scorer.calls, 0);
    }
}
