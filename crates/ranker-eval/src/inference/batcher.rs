//! Packing comparison requests from many items into full batches for a [`PairScorer`].

use std::time::Instant;

use ranker_metrics::MetricsError;

use super::stats::InferenceStats;
use crate::error::EvalError;
use crate::item::ItemText;
use crate::scorer::{PairRef, PairScorer};

/// One comparison to score: candidates `left` (slot 1) and `right` (slot 2) of the item at position `slot` of the
/// prepared chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairRequest {
    /// Position of the item in the chunk.
    pub slot: usize,
    /// Candidate in slot 1.
    pub left: usize,
    /// Candidate in slot 2.
    pub right: usize,
}

/// Prepares every item of a chunk, timing it as scorer time.
pub fn prepare_pairs<S: PairScorer>(
    scorer: &mut S,
    items: &[ItemText<'_>],
    stats: &mut InferenceStats,
) -> Result<Vec<S::Prepared>, EvalError> {
    let started = Instant::now();
    let prepared = items
        .iter()
        .map(|item| scorer.prepare(item))
        .collect::<Result<Vec<_>, _>>();
    stats.scorer_time += started.elapsed();
    prepared
}

/// Scores `requests` in order, `batch_size` per scorer call (only the last batch may be smaller), and returns one
/// logit per request. Counts forwards and batches; a NaN logit is an error naming its item.
pub fn score_requests<S: PairScorer>(
    scorer: &mut S,
    items: &[ItemText<'_>],
    prepared: &[S::Prepared],
    requests: &[PairRequest],
    batch_size: usize,
    stats: &mut InferenceStats,
) -> Result<Vec<f64>, EvalError> {
    let mut logits = Vec::with_capacity(requests.len());
    let mut batch = Vec::with_capacity(batch_size.min(requests.len()));
    for chunk in requests.chunks(batch_size.max(1)) {
        batch.clear();
        batch.extend(chunk.iter().map(|r| PairRef {
            item: &prepared[r.slot],
            left: r.left,
            right: r.right,
        }));
        let started = Instant::now();
        let values = scorer.score_pairs(&batch)?;
        stats.scorer_time += started.elapsed();
        stats.batches += 1;
        stats.forwards += chunk.len() as u64;
        if values.len() != chunk.len() {
            return Err(EvalError::ScorerOutput {
                what: "pairwise scoring",
                found: values.len(),
                expected: chunk.len(),
            });
        }
        for (request, &value) in chunk.iter().zip(&values) {
            if value.is_nan() {
                let item = &items[request.slot];
                let n = item.n_candidates();
                return Err(EvalError::at_item(
                    item.index,
                    item.id,
                    MetricsError::NanScore {
                        what: "pairwise logit f(i, j) at flat index i·n + j",
                        index: request.left * n + request.right,
                    },
                ));
            }
        }
        logits.extend(values);
    }
    Ok(logits)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo {
        sizes: Vec<usize>,
        nan_at: Option<(usize, usize)>,
    }

    impl PairScorer for Echo {
        type Prepared = usize;

        fn prepare(&mut self, item: &ItemText<'_>) -> Result<usize, EvalError> {
            Ok(item.index)
        }

        fn score_pairs(&mut self, pairs: &[PairRef<'_, usize>]) -> Result<Vec<f64>, EvalError> {
            self.sizes.push(pairs.len());
            Ok(pairs
                .iter()
                .map(|p| {
                    if self.nan_at == Some((p.left, p.right)) {
                        f64::NAN
                    } else {
                        (*p.item * 100 + p.left * 10 + p.right) as f64
                    }
                })
                .collect())
        }
    }

    fn items() -> Vec<ItemText<'static>> {
        (0..3)
            .map(|index| ItemText {
                index,
                id: "i",
                source: "",
                candidates: vec!["a", "b", "c"],
            })
            .collect()
    }

    #[test]
    fn packs_requests_of_many_items_into_full_batches() {
        let items = items();
        let mut scorer = Echo {
            sizes: vec![],
            nan_at: None,
        };
        let mut stats = InferenceStats::default();
        let prepared = prepare_pairs(&mut scorer, &items, &mut stats).unwrap();
        let requests: Vec<PairRequest> = (0..3)
            .flat_map(|slot| {
                [(0, 1), (1, 0), (2, 1)].map(|(left, right)| PairRequest { slot, left, right })
            })
            .collect();
        let logits =
            score_requests(&mut scorer, &items, &prepared, &requests, 4, &mut stats).unwrap();
        assert_eq!(scorer.sizes, [4, 4, 1]);
        assert_eq!(logits[0], 1.0);
        assert_eq!(logits[8], 221.0);
        assert_eq!((stats.forwards, stats.batches), (9, 3));
    }

    #[test]
    fn a_nan_logit_names_the_item() {
        let items = items();
        let mut scorer = Echo {
            sizes: vec![],
            nan_at: Some((2, 1)),
        };
        let mut stats = InferenceStats::default();
        let prepared = prepare_pairs(&mut scorer, &items, &mut stats).unwrap();
        let err = score_requests(
            &mut scorer,
            &items,
            &prepared,
            &[PairRequest {
                slot: 1,
                left: 2,
                right: 1,
            }],
            4,
            &mut stats,
        )
        .unwrap_err();
        assert_eq!(
            err.chain_line(),
            r#"item 1 (id "i"): pairwise logit f(i, j) at flat index i·n + j: value 7 is NaN"#
        );
    }
}
