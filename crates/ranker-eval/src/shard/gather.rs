//! Running inference on this rank's block and gathering every rank's results.

use std::ops::Range;

use ranker_dist::Collective;

use super::codec::{decode_shard, encode_shard, ShardPayload};
use super::range::shard_range;
use crate::error::EvalError;
use crate::inference::InferenceStats;
use crate::item::ItemPrediction;

/// The merged result of a sharded run, the same on every rank.
#[derive(Clone, Debug, PartialEq)]
pub struct ShardedRun {
    /// Every item's prediction, in input order.
    pub predictions: Vec<ItemPrediction>,
    /// Forwards and batches summed over ranks; scorer time summed; wall time the slowest rank's.
    pub stats: InferenceStats,
    /// Each rank's own counters, in rank order.
    pub per_rank: Vec<InferenceStats>,
}

/// Runs `infer` on this rank's block of `0..n_items` ([`shard_range`]) and all-gathers the results, so every rank
/// returns all predictions in input order.
///
/// A rank whose `infer` fails still takes part in the gather (sending its error), so no rank waits for it: the
/// failing rank returns its own error, the others [`EvalError::RankFailed`] naming it.
pub fn run_sharded<F>(
    collective: &mut dyn Collective,
    n_items: usize,
    infer: F,
) -> Result<ShardedRun, EvalError>
where
    F: FnOnce(Range<usize>) -> Result<(Vec<ItemPrediction>, InferenceStats), EvalError>,
{
    let (rank, world) = (collective.rank(), collective.world_size());
    let own_range = shard_range(n_items, rank, world);
    let local = infer(own_range);
    let payload: ShardPayload = match &local {
        Ok((predictions, stats)) => Ok((predictions.clone(), *stats)),
        Err(e) => Err(e.chain_line()),
    };
    let gathered = collective
        .all_gather(&encode_shard(&payload))
        .map_err(|source| EvalError::Dist {
            rank,
            op: "gathering inference results",
            source,
        })?;
    // This rank's own failure, with its full cause, takes precedence over what the others sent.
    local?;
    if gathered.len() != world {
        return Err(EvalError::BadShardResults {
            rank,
            detail: format!(
                "all_gather returned {} parts for {world} ranks",
                gathered.len()
            ),
        });
    }
    let mut predictions = Vec::with_capacity(n_items);
    let mut per_rank = Vec::with_capacity(world);
    let mut stats = InferenceStats::default();
    for (from, bytes) in gathered.iter().enumerate() {
        let bad = |detail: String| EvalError::BadShardResults { rank: from, detail };
        let (shard, shard_stats) = match decode_shard(bytes).map_err(bad)? {
            Ok(ok) => ok,
            Err(message) => {
                return Err(EvalError::RankFailed {
                    rank: from,
                    message,
                })
            }
        };
        let expected = shard_range(n_items, from, world);
        let indices_match = shard.len() == expected.len()
            && shard
                .iter()
                .zip(expected.clone())
                .all(|(p, i)| p.index == i);
        if !indices_match {
            return Err(bad(format!(
                "expected items {}..{} in order, got {} predictions",
                expected.start,
                expected.end,
                shard.len()
            )));
        }
        stats.forwards += shard_stats.forwards;
        stats.batches += shard_stats.batches;
        stats.scorer_time += shard_stats.scorer_time;
        stats.wall_time = stats.wall_time.max(shard_stats.wall_time);
        per_rank.push(shard_stats);
        predictions.extend(shard);
    }
    Ok(ShardedRun {
        predictions,
        stats,
        per_rank,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ranker_dist::SingleCollective;

    #[test]
    fn world_of_one_returns_its_own_results() {
        let run = run_sharded(&mut SingleCollective, 2, |range| {
            assert_eq!(range, 0..2);
            Ok((
                range
                    .map(|index| ItemPrediction {
                        index,
                        scores: vec![1.0, 0.0],
                        ranks: vec![1, 2],
                        selected: 0,
                        matrix: None,
                        bubble: None,
                    })
                    .collect(),
                InferenceStats {
                    forwards: 4,
                    ..Default::default()
                },
            ))
        })
        .unwrap();
        assert_eq!(run.predictions.len(), 2);
        assert_eq!(run.stats.forwards, 4);
    }

    #[test]
    fn a_shard_with_the_wrong_items_is_rejected() {
        let err = run_sharded(&mut SingleCollective, 2, |_| {
            Ok((vec![], InferenceStats::default()))
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "results from rank 0: expected items 0..2 in order, got 0 predictions"
        );
    }
}
