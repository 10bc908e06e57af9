//! The three rankers on the T5 encoder (the bundled `configs/models/flan-t5-tiny`, random init) and
//! PairRanker on XLM-RoBERTa (the `xlm-roberta-tiny` parity fixture, pretrained weights): each trains
//! through the one loop and evaluates its `best` checkpoint through `ranker eval`'s path. On T5,
//! SummaReranker's and SimCLS' training loss falls and their held-out selection beats random selection.
//! Trainings take the shared lock: burn's backend RNG is process-global.

mod common;

use std::path::{Path, PathBuf};

use burn::backend::Flex;
use ranker_eval::EvalOutcome;
use ranker_train::{evaluation, TrainSummary};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The quickstart's settings on smaller data, one epoch of `steps` steps.
fn yaml(
    ranker: &str,
    model: &Path,
    init: &str,
    dir: &Path,
    steps: usize,
    max_len: usize,
) -> String {
    let train = common::synth(dir, "train.jsonl", 8 * steps, 11, 1);
    let dev = common::synth(dir, "dev.jsonl", 16, 11, 2);
    let test = common::synth(dir, "test.jsonl", 48, 11, 3);
    format!(
        r#"
run: {{name: {ranker}, output_dir: {out}, seed: 42}}
data: {{train: {train}, dev: {dev}, test: {test}, metrics: [rougeL, bleu]}}
model:
  ranker: {ranker}
  backbone: {{path: {model}, init: {init}}}
  source_max_len: {max_len}
  candidate_max_len: {max_len}
  dropout: 0.05
train:
  epochs: 1
  per_device_batch: 8
  grad_accum: 1
  optimizer: adamw
  lr: 1.0e-3
  weight_decay: 0.01
  warmup_ratio: 0.05
  log_every: 1
eval: {{batch_size: 16, mode: full}}
"#,
        out = dir.join("run").display(),
        train = train.display(),
        dev = dev.display(),
        test = test.display(),
        model = model.display(),
    )
}

fn train_and_evaluate(
    ranker: &str,
    model: &Path,
    init: &str,
    steps: usize,
    max_len: usize,
) -> (TrainSummary, EvalOutcome) {
    let _guard = common::lock();
    let tmp = tempfile::tempdir().unwrap();
    let config = common::config(&yaml(ranker, model, init, tmp.path(), steps, max_len), &[]);
    let summary = common::train_alone(&config).unwrap();
    let mut pg = common::world_of_one();
    let device = Default::default();
    assert_eq!(summary.steps, steps as u64);
    let checkpoint = evaluation::resolve_checkpoint(&config, None).unwrap();
    let outcome = evaluation::evaluate::<Flex>(&config, &checkpoint, &mut pg, &device).unwrap();
    assert!(tmp.path().join("run/eval/report.json").is_file());
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(checkpoint.join("config.json")).unwrap())
            .unwrap();
    assert_eq!(
        saved["model_type"],
        ranker_models::BackboneConfig::from_file(&model.join("config.json"))
            .unwrap()
            .model_type()
    );
    (summary, outcome)
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Mean loss of the first and the last 5 steps, test sel/rougeL and random/rougeL.
fn measure(summary: &TrainSummary, outcome: &EvalOutcome) -> (f64, f64, f64, f64) {
    let losses = &summary.losses;
    let (first, last) = (mean(&losses[..5]), mean(&losses[losses.len() - 5..]));
    let sel = outcome.report.sel.get("rougeL").unwrap();
    let random = outcome.report.random.get("rougeL").unwrap();
    eprintln!("loss {first:.3} -> {last:.3}; test sel/rougeL {sel:.3} vs random {random:.3}");
    (first, last, sel, random)
}

fn flan_t5_tiny() -> PathBuf {
    repo().join("configs/models/flan-t5-tiny")
}

// PairRanker on the tiny T5 needs the whole quickstart epoch (configs/t5-quickstart.yaml, 250 steps at lr 3e-3:
// held-out sel/rougeL 0.760 against random 0.499), too long for this suite; this test only proves it trains
// and evaluates.
#[test]
fn pair_ranker_trains_and_evaluates_on_t5() {
    let (summary, outcome) = train_and_evaluate("pairranker", &flan_t5_tiny(), "random", 20, 64);
    assert!(summary.losses.iter().all(|l| l.is_finite()));
    assert_eq!(outcome.report.n_examples, 48);
}

#[test]
fn summa_reranker_learns_on_t5() {
    let (summary, outcome) = train_and_evaluate("summareranker", &flan_t5_tiny(), "random", 60, 64);
    let (first, last, sel, random) = measure(&summary, &outcome);
    // Measured: loss 0.701 -> 0.686, sel 0.916 vs random 0.491. With the tiny T5's small init
    // (initializer_factor 0.1) the scores start near zero and the ordering is learned well before the
    // MoE-BCE loss falls much, so the loss only has to fall; the selection margin is the real test.
    assert!(last < first, "loss {first} -> {last}");
    assert!(sel - random > 0.2, "sel {sel} vs random {random}");
}

#[test]
fn simcls_learns_on_t5() {
    let (summary, outcome) = train_and_evaluate("simcls", &flan_t5_tiny(), "random", 40, 64);
    let (first, last, sel, random) = measure(&summary, &outcome);
    assert!(last < 0.7 * first, "loss {first} -> {last}");
    assert!(sel - random > 0.2, "sel {sel} vs random {random}");
}

#[test]
fn pair_ranker_trains_and_evaluates_on_xlm_roberta() {
    let model = repo().join("tests/fixtures/models/xlm-roberta-tiny");
    // Its absolute positions allow 127 tokens: source + 2 candidates of 32 fit.
    let (summary, outcome) = train_and_evaluate("pairranker", &model, "pretrained", 6, 32);
    assert!(summary.losses.iter().all(|l| l.is_finite()));
    assert_eq!(outcome.report.n_examples, 48);
}
