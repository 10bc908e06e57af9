//! Fitting big models changes how a step is computed, never what it computes:
//! - pair chunks (`train.max_pairs_per_forward` 1, 2, 3) ≡ unchunked and activation checkpointing
//!   on ≡ off: per-step losses and final weights within 1e-5 over 10 steps, with dropout on;
//! - bf16 / fp16: the first steps' losses stay within 3e-2 of fp32's, fp16 logs its loss scale,
//!   and a bf16 run stopped and resumed equals a straight one;
//! - an unknown precision is a one-line config error before any work.
//!
//! Trainings take the shared lock: burn's backend RNG is process-global.

mod common;

use std::collections::HashMap;
use std::path::Path;

use burn::backend::autodiff::checkpoint::strategy::BalancedCheckpointing;
use burn::backend::{Autodiff, Flex};
use ranker_train::{train, train_on, Resume, TrainSummary};

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

/// Trains `name` under `tmp` for `steps` steps with the extra `train:` lines on the CPU.
fn run(tmp: &Path, data: &Data, name: &str, steps: usize, extra: &str) -> TrainSummary {
    let config = common::config(&yaml(&tmp.join(name), data, steps, 0.1, extra), &[]);
    let mut pg = common::world_of_one();
    train_on::<Flex>(
        &config,
        &mut pg,
        &Default::default(),
        Resume::Auto,
        &mut common::Quiet,
    )
    .unwrap()
}

#[test]
fn pair_chunks_give_the_same_run() {
    let _guard = common::lock();
    let tmp = tempfile::tempdir().unwrap();
    let data = data(tmp.path(), 80);
    let whole = run(tmp.path(), &data, "whole", 10, "");
    assert_eq!(whole.steps, 10);
    for n in [1, 2, 3] {
        let chunked = run(
            tmp.path(),
            &data,
            &format!("chunks-{n}"),
            10,
            &format!("  max_pairs_per_forward: {n}"),
        );
        assert_same_run(
            &whole,
            &chunked,
            1e-5,
            &format!("max_pairs_per_forward {n}"),
        );
    }
}

#[test]
fn activation_checkpointing_gives_the_same_run() {
    let _guard = common::lock();
    let tmp = tempfile::tempdir().unwrap();
    let data = data(tmp.path(), 80);
    let plain = run(tmp.path(), &data, "plain", 10, "");
    assert_eq!(plain.steps, 10);
    let checkpointed = run(
        tmp.path(),
        &data,
        "checkpointed",
        10,
        "  activation_checkpointing: true",
    );
    assert_same_run(&plain, &checkpointed, 1e-5, "activation checkpointing");
    // The generic entry point on the checkpointing backend is the same run too.
    let config = common::config(&yaml(&tmp.path().join("generic"), &data, 10, 0.1, ""), &[]);
    let generic = train::<Autodiff<Flex, BalancedCheckpointing>>(
        &config,
        &mut common::world_of_one(),
        &Default::default(),
        Resume::Auto,
        &mut common::Quiet,
    )
    .unwrap();
    assert_same_run(
        &plain,
        &generic,
        1e-5,
        "Autodiff<Flex, BalancedCheckpointing>",
    );
    // Asking the non-checkpointing backend for checkpointing is refused before any work.
    let out = tmp.path().join("refused");
    let config = common::config(
        &yaml(&out, &data, 10, 0.1, "  activation_checkpointing: true"),
        &[],
    );
    let err = common::train_alone(&config).unwrap_err().to_string();
    assert!(err.contains("train.activation_checkpointing"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!out.exists());
}

/// The `loss_scale` field of each step line of `metrics.jsonl`.
fn logged_loss_scales(out: &Path) -> Vec<Option<f64>> {
    std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v.get("loss").is_some())
        .map(|v| v.get("loss_scale").and_then(serde_json::Value::as_f64))
        .collect()
}

#[test]
fn half_precision_steps_track_fp32() {
    let _guard = common::lock();
    let tmp = tempfile::tempdir().unwrap();
    let data = data(tmp.path(), 80);
    let fp32 = run(tmp.path(), &data, "fp32", 5, "");
    for precision in ["bf16", "fp16"] {
        let half = run(
            tmp.path(),
            &data,
            precision,
            5,
            &format!("  precision: {precision}"),
        );
        assert_eq!(half.steps, 5);
        for (i, (a, b)) in fp32.losses.iter().zip(&half.losses).enumerate() {
            assert!(
                (a - b).abs() <= 3e-2,
                "{precision} step {}: loss {b} vs fp32 {a}",
                i + 1
            );
        }
        // It did compute in 16 bits.
        assert!(
            fp32.losses.iter().zip(&half.losses).any(|(a, b)| a != b),
            "{precision}: {:?} equals fp32",
            half.losses
        );
        // The checkpoint holds the f32 master weights.
        let dir = half.output_dir.join("checkpoints/step-5");
        let tensors = ranker_models::read_safetensors(&dir.join("model.safetensors")).unwrap();
        assert!(tensors
            .iter()
            .all(|(_, t)| t.dtype == burn::tensor::DType::F32));
        let scales = logged_loss_scales(&half.output_dir);
        assert_eq!(scales.len(), 5);
        if precision == "fp16" {
            assert!(scales.iter().all(|s| s == &Some(65536.0)), "{scales:?}");
        } else {
            assert!(scales.iter().all(Option::is_none), "{scales:?}");
        }
    }
}

#[test]
fn bf16_stop_and_resume_equals_a_straight_run() {
    let _guard = common::lock();
    ranker_dist::signals::install_checkpoint_handler().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let data = data(tmp.path(), 80);
    let straight = run(tmp.path(), &data, "straight", 8, "  precision: bf16");
    let config = common::config(
        &yaml(
            &tmp.path().join("split"),
            &data,
            8,
            0.1,
            "  precision: bf16",
        ),
        &[],
    );
    let mut pg = common::world_of_one();
    let device = Default::default();
    ranker_dist::signals::clear_checkpoint_request();
    let first = train_on::<Flex>(
        &config,
        &mut pg,
        &device,
        Resume::Auto,
        &mut common::StopAfter { at: 3 },
    )
    .unwrap();
    ranker_dist::signals::clear_checkpoint_request();
    assert!(first.stopped_on_request);
    assert_eq!(first.steps, 4);
    let second = train_on::<Flex>(
        &config,
        &mut pg,
        &device,
        Resume::Required,
        &mut common::Quiet,
    )
    .unwrap();
    let mut resumed = first.clone();
    resumed.losses.extend(&second.losses);
    resumed.steps = second.steps;
    assert_same_run(&straight, &resumed, 1e-6, "bf16 resumed");
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
