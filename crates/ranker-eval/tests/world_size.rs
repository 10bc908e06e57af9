//! Sharded evaluation gives the same predictions and report on 1, 2 and 3 ranks (HostCollective over loopback
//! threads), rank 0 alone writes the outputs, and a failing rank fails every rank without a hang.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::{report_without_timings, run_ring, synth_dataset};
use ranker_data::Dataset;
use ranker_eval::{
    evaluate_pairwise, Aggregation, BatchOptions, BubbleOptions, EvalError, EvalOptions, ItemText,
    PairInference, PairRef, PairScorer, SyntheticScorer, PREDICTIONS_FILE, REPORT_FILE,
};

fn modes() -> Vec<PairInference> {
    vec![
        PairInference::Full(Aggregation::MaxLogits),
        PairInference::Full(Aggregation::MaxWins),
        PairInference::Bubble(BubbleOptions {
            num_runs: 2,
            seed: 11,
            round: 3,
            ..Default::default()
        }),
    ]
}

#[test]
fn world_sizes_1_2_3_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let dataset = Arc::new(synth_dataset(tmp.path(), 23, 6));
    assert!(dataset.examples.iter().any(|e| e.cmp_results.is_some()));
    for mode in modes() {
        let mut reference = None;
        for world in 1..=3 {
            let out_dir = tmp.path().join(format!("{}-{world}", mode.name()));
            let dataset = Arc::clone(&dataset);
            let dir = out_dir.clone();
            let outcomes = run_ring(world, move |_, coll| {
                let options = EvalOptions {
                    mode,
                    batch: BatchOptions {
                        batch_size: 5,
                        chunk_items: 4,
                    },
                    ..EvalOptions::default()
                };
                evaluate_pairwise(
                    coll,
                    &dataset,
                    &mut SyntheticScorer::default(),
                    &options,
                    Some(&dir),
                )
                .unwrap()
            });
            assert_eq!(
                outcomes.iter().map(|o| o.written).collect::<Vec<_>>(),
                (0..world).map(|r| r == 0).collect::<Vec<_>>()
            );
            for outcome in &outcomes[1..] {
                assert_eq!(outcome.predictions, outcomes[0].predictions);
            }
            let report: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(out_dir.join(REPORT_FILE)).unwrap())
                    .unwrap();
            assert_eq!(report["timings"]["world_size"], world);
            let predictions = std::fs::read_to_string(out_dir.join(PREDICTIONS_FILE)).unwrap();
            assert_eq!(predictions.lines().count(), 23);
            let first = &outcomes[0];
            match &reference {
                None => reference = Some((first.clone(), predictions)),
                Some((want, want_lines)) => {
                    assert_eq!(
                        first.predictions,
                        want.predictions,
                        "{} world {world}",
                        mode.name()
                    );
                    assert_eq!(&predictions, want_lines, "{} world {world}", mode.name());
                    assert_eq!(
                        report_without_timings(&first.report),
                        report_without_timings(&want.report),
                        "{} world {world}",
                        mode.name()
                    );
                }
            }
        }
    }
}

/// Fails on the item with index 17.
struct FailingScorer(SyntheticScorer);

impl PairScorer for FailingScorer {
    type Prepared = <SyntheticScorer as PairScorer>::Prepared;

    fn prepare(&mut self, item: &ItemText<'_>) -> Result<Self::Prepared, EvalError> {
        if item.index == 17 {
            return Err(EvalError::scorer(
                format!("item {} (id {:?}): tokenizing", item.index, item.id),
                std::io::Error::other("boom"),
            ));
        }
        PairScorer::prepare(&mut self.0, item)
    }

    fn score_pairs(
        &mut self,
        pairs: &[PairRef<'_, Self::Prepared>],
    ) -> Result<Vec<f64>, EvalError> {
        self.0.score_pairs(pairs)
    }
}

#[test]
fn a_failing_rank_fails_every_rank() {
    let tmp = tempfile::tempdir().unwrap();
    let dataset: Arc<Dataset> = Arc::new(synth_dataset(tmp.path(), 23, 4));
    let dir: PathBuf = tmp.path().join("out");
    let out = dir.clone();
    let results = run_ring(3, move |_, coll| {
        evaluate_pairwise(
            coll,
            &dataset,
            &mut FailingScorer(SyntheticScorer::default()),
            &EvalOptions::default(),
            Some(&out),
        )
        .map(|_| ())
        .map_err(|e| e.chain_line())
    });
    // Items 16..23 are rank 2's block.
    assert!(
        results[2]
            .as_ref()
            .unwrap_err()
            .ends_with("tokenizing: boom"),
        "{results:?}"
    );
    for r in &results[..2] {
        let err = r.as_ref().unwrap_err();
        assert!(err.starts_with("rank 2 failed: item 17 (id "), "{err}");
    }
    assert!(!dir.join(REPORT_FILE).exists());
}
