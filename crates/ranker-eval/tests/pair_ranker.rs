//! The burn PairRanker through [`PairRankerScorer`]: world sizes 1, 2, 3 agree (ranks and selections exactly,
//! scores within 1e-6), batching does not matter beyond float noise, checkpoints load, and a checkpoint of another
//! ranker type is a one-line error. Model: a random-init PairRanker on the tiny DeBERTa-v3-style fixture.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::Backend;
use common::{report_without_timings, run_ring, synth_dataset};
use ranker_eval::{
    evaluate_pairwise, predict_pairwise, Aggregation, BatchOptions, BubbleOptions, EvalOptions,
    ItemPrediction, ItemText, PairInference, PairRankerScorer,
};
use ranker_models::checkpoint::{save_pair_ranker, RankerConfig};
use ranker_models::collate::{PairCollator, PairTokenizer};
use ranker_models::ranker::{PairRanker, PairRankerConfig};
use ranker_models::BackboneConfig;

const SOURCE_MAXLENGTH: usize = 24;
const CANDIDATE_MAXLENGTH: usize = 12;

fn model_dir() -> PathBuf {
    common::fixture("models/deberta-v3-tiny")
}

fn tiny_model() -> (PairRanker<Flex>, PairTokenizer, BackboneConfig) {
    let device = Default::default();
    let tokenizer = PairTokenizer::from_dir(&model_dir()).unwrap();
    let config = BackboneConfig::from_file(&model_dir().join("config.json"))
        .unwrap()
        .with_vocab_size(tokenizer.vocab_size());
    Flex::seed(&device, 1234);
    let model = PairRankerConfig::new().init::<Flex>(config.init(&device), &device);
    // Clones go to several workers: fix the lazily initialized weights first.
    ranker_eval::model::materialize_params(&model);
    (model, tokenizer, config)
}

fn scorer(model: &PairRanker<Flex>, tokenizer: &PairTokenizer) -> PairRankerScorer<Flex> {
    let collator =
        PairCollator::new(tokenizer.clone(), SOURCE_MAXLENGTH, CANDIDATE_MAXLENGTH).unwrap();
    PairRankerScorer::new(model.clone(), collator, Default::default()).unwrap()
}

fn assert_same(a: &[ItemPrediction], b: &[ItemPrediction], what: &str) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.ranks, y.ranks, "{what}: item {} ranks", x.index);
        assert_eq!(x.selected, y.selected, "{what}: item {} selection", x.index);
        assert_eq!(
            x.bubble, y.bubble,
            "{what}: item {} select_process",
            x.index
        );
        for (s, t) in x.scores.iter().zip(&y.scores) {
            assert!(
                (s - t).abs() <= 1e-6,
                "{what}: item {} score {s} vs {t}",
                x.index
            );
        }
    }
}

/// The smallest gap between two unequal full-mode scores of an item. Exact ties come from candidates with
/// identical tokens (the scorer computes them once); any other near-tie below float noise would make ranks
/// fragile, so the test data must keep it far above 1e-6.
fn min_score_gap(predictions: &[ItemPrediction]) -> f64 {
    predictions
        .iter()
        .flat_map(|p| {
            let mut s = p.scores.clone();
            s.sort_by(f64::total_cmp);
            s.windows(2)
                .map(|w| w[1] - w[0])
                .filter(|&g| g > 0.0)
                .collect::<Vec<_>>()
        })
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn world_sizes_and_batching_agree_with_the_burn_pair_ranker() {
    let tmp = tempfile::tempdir().unwrap();
    let dataset = Arc::new(synth_dataset(tmp.path(), 7, 4));
    let (model, tokenizer, _) = tiny_model();
    let shared = Arc::new((model, tokenizer));
    let modes = [
        PairInference::Full(Aggregation::MaxLogits),
        PairInference::Bubble(BubbleOptions::default()),
    ];
    for mode in modes {
        // Batch size 1 (no padding at all) against 7 (rows of different items and lengths padded together).
        let items = ItemText::from_examples(&dataset.examples);
        let single = predict_pairwise(
            &mut scorer(&shared.0, &shared.1),
            &items,
            &mode,
            &BatchOptions::with_batch_size(1),
            false,
        )
        .unwrap()
        .0;
        if let PairInference::Full(_) = mode {
            let gap = min_score_gap(&single);
            assert!(
                gap > 1e-4,
                "scores within {gap} of a tie: ranks would be fragile"
            );
            // The data has duplicate candidates after truncation: they must tie exactly.
            assert!(single.iter().any(|p| {
                let mut r = p.ranks.clone();
                r.sort_unstable();
                r.dedup();
                r.len() < p.ranks.len()
            }));
        }
        let mut reference = None;
        for world in 1..=3 {
            let dataset = Arc::clone(&dataset);
            let shared = Arc::clone(&shared);
            let outcomes = run_ring(world, move |_, coll| {
                let options = EvalOptions {
                    mode,
                    batch: BatchOptions {
                        batch_size: 7,
                        chunk_items: 2,
                    },
                    ..EvalOptions::default()
                };
                let mut scorer = scorer(&shared.0, &shared.1);
                evaluate_pairwise(coll, &dataset, &mut scorer, &options, None::<&Path>).unwrap()
            });
            let outcome = outcomes.into_iter().next().unwrap();
            assert_same(
                &outcome.predictions,
                &single,
                &format!("{} world {world} vs batch 1", mode.name()),
            );
            match &reference {
                None => reference = Some(outcome),
                Some(want) => {
                    assert_same(
                        &outcome.predictions,
                        &want.predictions,
                        &format!("{} world {world}", mode.name()),
                    );
                    assert_eq!(
                        report_without_timings(&outcome.report),
                        report_without_timings(&want.report),
                        "{} world {world}",
                        mode.name()
                    );
                }
            }
        }
    }
}

#[test]
fn checkpoints_load_and_other_ranker_types_are_rejected() {
    let (model, tokenizer, backbone) = tiny_model();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ckpt");
    let config = RankerConfig {
        source_maxlength: Some(SOURCE_MAXLENGTH),
        candidate_maxlength: Some(CANDIDATE_MAXLENGTH),
        ..RankerConfig::default()
    };
    save_pair_ranker(&dir, &model, &tokenizer, &config, &backbone).unwrap();

    let dataset = synth_dataset(tmp.path(), 3, 3);
    let items = ItemText::from_examples(&dataset.examples);
    let mode = PairInference::Full(Aggregation::MaxLogits);
    let batch = BatchOptions::with_batch_size(4);
    let in_memory = predict_pairwise(&mut scorer(&model, &tokenizer), &items, &mode, &batch, true)
        .unwrap()
        .0;
    let mut loaded =
        PairRankerScorer::<Flex>::from_checkpoint(&dir, None, None, Default::default()).unwrap();
    let from_disk = predict_pairwise(&mut loaded, &items, &mode, &batch, true)
        .unwrap()
        .0;
    // Reloaded weights may sit in another memory layout, which changes float summation order.
    assert_same(&from_disk, &in_memory, "checkpoint vs in-memory model");

    let path = dir.join("ranker_config.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"pairranker\"", "\"summareranker\"")).unwrap();
    let err = PairRankerScorer::<Flex>::from_checkpoint(&dir, None, None, Default::default())
        .unwrap_err();
    let line = err.chain_line();
    assert!(
        line.starts_with(&format!(
            "loading the PairRanker checkpoint {}: ",
            dir.display()
        )),
        "{line}"
    );
    assert!(
        line.contains("ranker_type") && line.contains("summareranker"),
        "{line}"
    );
    assert!(!line.contains('\n'));
}

#[test]
fn an_autodiff_backend_is_refused() {
    let (model, tokenizer, backbone) = tiny_model();
    let device = Default::default();
    let ad = PairRankerConfig::new().init::<Autodiff<Flex>>(backbone.init(&device), &device);
    let collator = PairCollator::new(tokenizer, SOURCE_MAXLENGTH, CANDIDATE_MAXLENGTH).unwrap();
    let err = PairRankerScorer::new(ad, collator, device).unwrap_err();
    assert!(err.to_string().starts_with("backend = autodiff:"), "{err}");
    drop(model);
}
