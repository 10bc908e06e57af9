//! Fitting big models changes how a step is computed, never what it computes:
//! - activation checkpointing on ≡ off: per-step losses and final weights within 1e-5 over 10 steps;
//! - an unknown precision is a one-line config error before any work.
//!
//! Trainings take the shared lock: burn's backend RNG is process-global.

mod common;

use std::collections::HashMap;
use std::path::Path;

use burn::backend::autodiff::checkpoint::strategy::BalancedCheckpointing;
use burn::backend::{Autodiff, Flex};
use ranker_train::{train, train_on, Resume, TrainObserver, TrainSummary};

struct Quiet;
impl TrainObserver for Quiet {}

struct Data {
    train: std::path::PathBuf,
    dev: std::path::PathBuf,
    test: std::path::PathBuf,
}

fn data(dir: &Path, train_items: usize) -> Data {
    Data {
        train: common::synth(dir, "train.jsonl", train_items, 6, 21),
        dev: common::synth(dir, "dev.jsonl", 8, 6, 22),
        test: common::synth(dir, "test.jsonl", 48, 6, 23),
    }
}

/// A tiny PairRanker run: `steps` steps of 4 examples × 2 micro-batches (up to 5 pairs each).
fn yaml(out: &Path, data: &Data, steps: usize, dropout: f64, extra: &str) -> String {
    format!(
        r#"
run: {{name: fit, output_dir: {out}, seed: 5}}
data: {{train: {train}, dev: {dev}, test: {test}, metrics: [rougeL, bleu]}}
model:
  backbone: {{path: {model}, init: random}}
  source_max_len: 48
  candidate_max_len: 48
  dropout: {dropout}
  sampling: {{mode: all_pair, num_pos: 2, num_neg: 2}}
train:
  max_steps: {steps}
  per_device_batch: 4
  grad_accum: 2
  optimizer: adamw
  lr: 1.0e-3
  weight_decay: 0.01
  warmup_ratio: 0.05
  log_every: 1
  eval_every: {steps}
{extra}
eval: {{batch_size: 32}}
"#,
        out = out.display(),
        train = data.train.display(),
        dev = data.dev.display(),
        test = data.test.display(),
        model = common::tiny_model().display(),
    )
}

fn weights(dir: &Path) -> HashMap<String, Vec<f32>> {
    ranker_models::read_safetensors(&dir.join("model.safetensors"))
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, v.convert::<f32>().into_vec::<f32>().unwrap()))
        .collect()
}

fn assert_same_run(a: &TrainSummary, b: &TrainSummary, tol: f64, what: &str) {
    assert_eq!(a.losses.len(), b.losses.len(), "{what}");
    for (i, (x, y)) in a.losses.iter().zip(&b.losses).enumerate() {
        assert!(
            (x - y).abs() <= tol,
            "{what}: step {} loss {x} vs {y}",
            i + 1
        );
    }
    let wa = weights(&a.output_dir.join(format!("checkpoints/step-{}", a.steps)));
    let wb = weights(&b.output_dir.join(format!("checkpoints/step-{}", b.steps)));
    assert_eq!(wa.len(), wb.len());
    for (name, va) in &wa {
        let worst = va
            .iter()
            .zip(&wb[name])
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(worst as f64 <= tol, "{what}: {name} differs by {worst}");
    }
}

#[test]
fn activation_checkpointing_gives_the_same_run() {
    let _guard = common::lock();
    let tmp = tempfile::tempdir().unwrap();
    let data = data(tmp.path(), 80);
    let device = Default::default();
    let mut pg = common::world_of_one();
    let mut run = |name: &str, extra: &str| {
        let config = common::config(&yaml(&tmp.path().join(name), &data, 10, 0.0, extra), &[]);
        train_on::<Flex>(&config, &mut pg, &device, Resume::Auto, &mut Quiet).unwrap()
    };
    let plain = run("plain", "");
    assert_eq!(plain.steps, 10);
    let checkpointed = run("checkpointed", "  activation_checkpointing: true");
    assert_same_run(&plain, &checkpointed, 1e-5, "activation checkpointing");
    // The generic entry point on the checkpointing backend is the same run too.
    let config = common::config(&yaml(&tmp.path().join("generic"), &data, 10, 0.0, ""), &[]);
    let generic = train::<Autodiff<Flex, BalancedCheckpointing>>(
        &config,
        &mut pg,
        &device,
        Resume::Auto,
        &mut Quiet,
    )
    .unwrap();
    assert_same_run(
        &plain,
        &generic,
        1e-5,
        "Autodiff<Flex, BalancedCheckpointing>",
    );
}

#[test]
fn unknown_precision_is_one_line_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data(tmp.path(), 8);
    let out = tmp.path().join("run");
    let text = yaml(&out, &data, 2, 0.0, "  precision: fp8");
    let overrides: Vec<ranker_train::config::Override> = Vec::new();
    let err = ranker_train::config::Config::from_yaml_str(&text, Path::new("fit.yaml"), &overrides)
        .unwrap_err()
        .to_string();
    assert!(err.contains("train.precision"), "{err}");
    assert!(err.contains("fp8"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!out.exists());
}
