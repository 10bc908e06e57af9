//! The burn SummaReranker and SimCLS through [`SummaRerankerScorer`] / [`SimClsScorer`]: world sizes 1, 2, 3
//! agree (ranks and selections exactly, scores within 1e-6), batching does not matter beyond float noise (also
//! with items of different candidate counts in one batch), duplicate candidates tie exactly, checkpoints load,
//! and a checkpoint of another ranker type or an autodiff backend is a one-line error. Models: random-init
//! rankers on the tiny DeBERTa-v3-style fixture.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::Backend;
use common::{report_without_timings, run_ring, synth_dataset};
use ranker_eval::{
    evaluate_listwise, predict_listwise, BatchOptions, EvalOptions, ItemPrediction, ItemText,
    ListScorer, SimClsScorer, SummaRerankerScorer,
};
use ranker_models::checkpoint::{save_simcls, save_summa_reranker, RankerConfig};
use ranker_models::collate::{DualCollator, ScrCollator, TextEncoder, TokenizerSettings};
use ranker_models::ranker::{SimCls, SummaReranker, SummaRerankerConfig};
use ranker_models::BackboneConfig;

const SOURCE_MAXLENGTH: usize = 24;
const CANDIDATE_MAXLENGTH: usize = 12;

/// burn's backend RNG is process-global: models are seeded and initialised one at a time, so their weights do
/// not depend on which tests run concurrently.
static INIT: Mutex<()> = Mutex::new(());

fn model_dir() -> PathBuf {
    common::fixture("models/deberta-v3-tiny")
}

fn encoder() -> TextEncoder {
    let dir = model_dir();
    let tokenizer = ranker_models::load_tokenizer(&dir).unwrap();
    TextEncoder::new(tokenizer, TokenizerSettings::from_dir(&dir).unwrap(), &dir).unwrap()
}

fn backbone_config(vocab: usize) -> BackboneConfig {
    BackboneConfig::from_file(&model_dir().join("config.json"))
        .unwrap()
        .with_vocab_size(vocab)
}

fn tiny_summa(n_tasks: usize) -> (SummaReranker<Flex>, ScrCollator, BackboneConfig) {
    let device = Default::default();
    let collator = ScrCollator::new(encoder(), SOURCE_MAXLENGTH, CANDIDATE_MAXLENGTH).unwrap();
    let config = backbone_config(ranker_models::tokenizer_len(collator.encoder().tokenizer()));
    let _init = INIT.lock().unwrap_or_else(|e| e.into_inner());
    Flex::seed(&device, 4321);
    let mut model = SummaRerankerConfig::new()
        .with_n_tasks(n_tasks)
        .init::<Flex>(config.init(&device), &device);
    // The gates start at 0 (as the reference), which routes every row alike: random gates exercise the MoE,
    // and larger tower weights spread the scores far beyond float noise.
    let normal = |dims: [usize; 2]| {
        burn::module::Param::from_tensor(burn::tensor::Tensor::<Flex, 2>::random(
            dims,
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &device,
        ))
    };
    for gate in model.moe.w_gate.iter_mut() {
        *gate = normal(gate.val().dims());
    }
    for tower in model.towers.iter_mut() {
        tower.weight = normal(tower.weight.val().dims());
    }
    // Clones go to several workers: fix the lazily initialized weights first.
    ranker_eval::model::materialize_params(&model);
    (model, collator, config)
}

fn tiny_simcls() -> (SimCls<Flex>, DualCollator, BackboneConfig) {
    let device = Default::default();
    let collator = DualCollator::new(encoder(), SOURCE_MAXLENGTH, CANDIDATE_MAXLENGTH).unwrap();
    let config = backbone_config(collator.vocab_size());
    let _init = INIT.lock().unwrap_or_else(|e| e.into_inner());
    Flex::seed(&device, 8765);
    let model = SimCls::new(config.init::<Flex>(&device));
    ranker_eval::model::materialize_params(&model);
    (model, collator, config)
}

fn assert_same(a: &[ItemPrediction], b: &[ItemPrediction], what: &str) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.ranks, y.ranks, "{what}: item {} ranks", x.index);
        assert_eq!(x.selected, y.selected, "{what}: item {} selection", x.index);
        for (s, t) in x.scores.iter().zip(&y.scores) {
            assert!(
                (s - t).abs() <= 1e-6,
                "{what}: item {} score {s} vs {t}",
                x.index
            );
        }
    }
}

/// The smallest gap between two unequal scores of an item: ranks are only comparable across batchings when
/// it is far above float noise.
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

/// Whether some item has tied ranks (duplicate candidates after truncation).
fn has_exact_ties(predictions: &[ItemPrediction]) -> bool {
    predictions.iter().any(|p| {
        let mut r = p.ranks.clone();
        r.sort_unstable();
        r.dedup();
        r.len() < p.ranks.len()
    })
}

/// Batch size 1 (no padding at all) against sharded evaluation over 1, 2 and 3 ranks with batches of 3.
fn check_world_sizes<S, F>(make_scorer: F, min_gap: f64)
where
    S: ListScorer,
    F: Fn() -> S + Send + Sync + 'static,
{
    let tmp = tempfile::tempdir().unwrap();
    let dataset = Arc::new(synth_dataset(tmp.path(), 7, 5));
    let items = ItemText::from_examples(&dataset.examples);
    let single = predict_listwise(
        &mut make_scorer(),
        &items,
        &BatchOptions::with_batch_size(1),
    )
    .unwrap()
    .0;
    let gap = min_score_gap(&single);
    assert!(
        gap > min_gap,
        "scores within {gap} of a tie: ranks would be fragile"
    );
    assert!(
        has_exact_ties(&single),
        "the data should hold duplicate candidates"
    );
    let make_scorer = Arc::new(make_scorer);
    let mut reference = None;
    for world in 1..=3 {
        let dataset = Arc::clone(&dataset);
        let make_scorer = Arc::clone(&make_scorer);
        let outcomes = run_ring(world, move |_, coll| {
            let options = EvalOptions {
                batch: BatchOptions {
                    batch_size: 3,
                    chunk_items: 2,
                },
                ..EvalOptions::default()
            };
            evaluate_listwise(coll, &dataset, &mut make_scorer(), &options, None::<&Path>).unwrap()
        });
        let outcome = outcomes.into_iter().next().unwrap();
        assert_eq!(outcome.report.mode, "listwise");
        assert_same(
            &outcome.predictions,
            &single,
            &format!("world {world} vs batch 1"),
        );
        match &reference {
            None => reference = Some(outcome),
            Some(want) => {
                assert_same(
                    &outcome.predictions,
                    &want.predictions,
                    &format!("world {world}"),
                );
                assert_eq!(
                    report_without_timings(&outcome.report),
                    report_without_timings(&want.report),
                    "world {world}"
                );
            }
        }
    }
}

#[test]
fn summa_reranker_world_sizes_and_batching_agree() {
    let (model, collator, _) = tiny_summa(2);
    let shared = Arc::new((model, collator));
    check_world_sizes(
        move || {
            SummaRerankerScorer::new(shared.0.clone(), shared.1.clone(), Default::default())
                .unwrap()
        },
        1e-5,
    );
}

#[test]
fn simcls_world_sizes_and_batching_agree() {
    let (model, collator, _) = tiny_simcls();
    let shared = Arc::new((model, collator));
    check_world_sizes(
        move || SimClsScorer::new(shared.0.clone(), shared.1.clone(), Default::default()).unwrap(),
        1e-5,
    );
}

/// Items with 2, 4 and 3 candidates scored in one call (one forward per count) agree with one call per item.
#[test]
fn mixed_candidate_counts_share_a_call() {
    let texts: Vec<(String, Vec<String>)> = [2usize, 4, 3, 4, 2]
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            (
                format!("shorten the list number {i} of words please"),
                (0..n)
                    .map(|c| format!("word {c} of list {i} {}", "more ".repeat(c)))
                    .collect(),
            )
        })
        .collect();
    let items: Vec<ItemText<'_>> = texts
        .iter()
        .enumerate()
        .map(|(index, (source, candidates))| ItemText {
            index,
            id: "mixed",
            source,
            candidates: candidates.iter().map(String::as_str).collect(),
        })
        .collect();
    let (summa, scr, _) = tiny_summa(1);
    let (simcls, dual, _) = tiny_simcls();
    let device: burn::tensor::Device<Flex> = Default::default();
    let mut summa = SummaRerankerScorer::new(summa, scr, device).unwrap();
    let mut simcls = SimClsScorer::new(simcls, dual, device).unwrap();
    for (name, one, all) in [
        (
            "SummaReranker",
            predict_listwise(&mut summa, &items, &BatchOptions::with_batch_size(1)).unwrap(),
            predict_listwise(&mut summa, &items, &BatchOptions::with_batch_size(5)).unwrap(),
        ),
        (
            "SimCLS",
            predict_listwise(&mut simcls, &items, &BatchOptions::with_batch_size(1)).unwrap(),
            predict_listwise(&mut simcls, &items, &BatchOptions::with_batch_size(5)).unwrap(),
        ),
    ] {
        assert_eq!(one.1.batches, 5, "{name}");
        assert_eq!(all.1.batches, 1, "{name}");
        assert_same(&all.0, &one.0, name);
        let counts: Vec<usize> = all.0.iter().map(|p| p.scores.len()).collect();
        assert_eq!(counts, [2, 4, 3, 4, 2], "{name}");
    }
}

fn ranker_config() -> RankerConfig {
    RankerConfig {
        source_maxlength: Some(SOURCE_MAXLENGTH),
        candidate_maxlength: Some(CANDIDATE_MAXLENGTH),
        ..RankerConfig::default()
    }
}

/// Rewrites the checkpoint's `ranker_type`, then expects a one-line error naming both.
fn assert_wrong_type_rejected<S: std::fmt::Debug>(
    dir: &Path,
    from: &str,
    to: &str,
    what: &str,
    load: impl Fn(&Path) -> Result<S, ranker_eval::EvalError>,
) {
    let path = dir.join("ranker_config.json");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&format!("\"{from}\"")), "{text}");
    std::fs::write(
        &path,
        text.replace(&format!("\"{from}\""), &format!("\"{to}\"")),
    )
    .unwrap();
    let line = load(dir).unwrap_err().chain_line();
    assert!(
        line.starts_with(&format!(
            "loading the {what} checkpoint {}: ",
            dir.display()
        )),
        "{line}"
    );
    assert!(line.contains("ranker_type") && line.contains(to), "{line}");
    assert!(!line.contains('\n'));
}

#[test]
fn summa_reranker_checkpoints_load_and_other_types_are_rejected() {
    let (model, collator, backbone) = tiny_summa(2);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ckpt");
    save_summa_reranker(
        &dir,
        &model,
        collator.encoder(),
        &ranker_config(),
        &backbone,
    )
    .unwrap();
    let dataset = synth_dataset(tmp.path(), 3, 4);
    let items = ItemText::from_examples(&dataset.examples);
    let batch = BatchOptions::with_batch_size(2);
    let device: burn::tensor::Device<Flex> = Default::default();
    let in_memory = predict_listwise(
        &mut SummaRerankerScorer::new(model, collator, device).unwrap(),
        &items,
        &batch,
    )
    .unwrap()
    .0;
    let mut loaded =
        SummaRerankerScorer::<Flex>::from_checkpoint(&dir, None, None, device).unwrap();
    let from_disk = predict_listwise(&mut loaded, &items, &batch).unwrap().0;
    assert_same(&from_disk, &in_memory, "checkpoint vs in-memory model");
    assert_wrong_type_rejected(&dir, "summareranker", "dual", "SummaReranker", |dir| {
        SummaRerankerScorer::<Flex>::from_checkpoint(dir, None, None, device)
    });
}

#[test]
fn simcls_checkpoints_load_and_other_types_are_rejected() {
    let (model, collator, backbone) = tiny_simcls();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ckpt");
    save_simcls(
        &dir,
        &model,
        collator.encoder(),
        &ranker_config(),
        &backbone,
    )
    .unwrap();
    let dataset = synth_dataset(tmp.path(), 3, 4);
    let items = ItemText::from_examples(&dataset.examples);
    let batch = BatchOptions::with_batch_size(2);
    let device: burn::tensor::Device<Flex> = Default::default();
    let in_memory = predict_listwise(
        &mut SimClsScorer::new(model, collator, device).unwrap(),
        &items,
        &batch,
    )
    .unwrap()
    .0;
    let mut loaded = SimClsScorer::<Flex>::from_checkpoint(&dir, None, None, device).unwrap();
    let from_disk = predict_listwise(&mut loaded, &items, &batch).unwrap().0;
    assert_same(&from_disk, &in_memory, "checkpoint vs in-memory model");
    assert_wrong_type_rejected(&dir, "dual", "pairranker", "SimCLS", |dir| {
        SimClsScorer::<Flex>::from_checkpoint(dir, None, None, device)
    });
}

#[test]
fn autodiff_backends_are_refused() {
    let device = Default::default();
    let scr = ScrCollator::new(encoder(), SOURCE_MAXLENGTH, CANDIDATE_MAXLENGTH).unwrap();
    let vocab = ranker_models::tokenizer_len(scr.encoder().tokenizer());
    let summa = SummaRerankerConfig::new()
        .init::<Autodiff<Flex>>(backbone_config(vocab).init(&device), &device);
    let err = SummaRerankerScorer::new(summa, scr, device).unwrap_err();
    assert!(err.to_string().starts_with("backend = autodiff:"), "{err}");

    let dual = DualCollator::new(encoder(), SOURCE_MAXLENGTH, CANDIDATE_MAXLENGTH).unwrap();
    let simcls = SimCls::new(backbone_config(dual.vocab_size()).init::<Autodiff<Flex>>(&device));
    let err = SimClsScorer::new(simcls, dual, device).unwrap_err();
    assert!(err.to_string().starts_with("backend = autodiff:"), "{err}");
}
