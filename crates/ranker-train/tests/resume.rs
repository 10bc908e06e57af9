//! Exact resume: 2N steps straight equal N steps, a stop with a checkpoint, and N more steps resumed
//! from it — per-step losses and final weights within 1e-6. The stop is the real preemption path:
//! SIGUSR1 sets the checkpoint request, the loop finishes the step, saves and returns.

mod common;

use std::path::Path;

use burn::backend::{Autodiff, Flex};
use ranker_train::{train, Resume};

type B = Autodiff<Flex>;
const N: u64 = 6;

fn yaml(dir: &Path, train: &Path, dev: &Path) -> String {
    format!(
        r#"
run: {{name: resume, output_dir: {out}, seed: 7}}
data: {{train: {train}, dev: {dev}, metrics: [rougeL, bleu]}}
model:
  backbone: {{path: {model}, init: random}}
  source_max_len: 48
  candidate_max_len: 48
  dropout: 0.1
train:
  max_steps: {steps}
  per_device_batch: 3
  grad_accum: 2
  optimizer: adafactor
  lr: 1.0e-3
  warmup_ratio: 0.2
  max_grad_norm: 0.5
  eval_every: 4
  log_every: 1
eval: {{batch_size: 16}}
"#,
        out = dir.display(),
        train = train.display(),
        dev = dev.display(),
        model = common::tiny_model().display(),
        steps = 2 * N,
    )
}

#[test]
fn n_steps_resume_n_steps_equals_2n_steps() {
    let _guard = common::lock();
    ranker_dist::signals::install_checkpoint_handler().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let train_path = common::synth(tmp.path(), "train.jsonl", 48, 5, 11);
    let dev_path = common::synth(tmp.path(), "dev.jsonl", 8, 5, 12);
    let device = Default::default();

    let straight_dir = tmp.path().join("straight");
    let straight_config = common::config(&yaml(&straight_dir, &train_path, &dev_path), &[]);
    let straight = common::train_alone(&straight_config).unwrap();
    let mut pg = common::world_of_one();
    assert_eq!(straight.steps, 2 * N);
    assert!(!straight.stopped_on_request);

    let split_dir = tmp.path().join("split");
    let split_config = common::config(&yaml(&split_dir, &train_path, &dev_path), &[]);
    ranker_dist::signals::clear_checkpoint_request();
    let first = train::<B>(
        &split_config,
        &mut pg,
        &device,
        Resume::Auto,
        &mut common::StopAfter { at: N - 1 },
    )
    .unwrap();
    assert!(first.stopped_on_request);
    assert_eq!(first.steps, N);
    ranker_dist::signals::clear_checkpoint_request();
    let second = train::<B>(
        &split_config,
        &mut pg,
        &device,
        Resume::Required,
        &mut common::Quiet,
    )
    .unwrap();
    assert_eq!(second.steps, 2 * N);

    let resumed: Vec<f64> = first.losses.iter().chain(&second.losses).copied().collect();
    assert_eq!(resumed.len(), straight.losses.len());
    for (i, (a, b)) in straight.losses.iter().zip(&resumed).enumerate() {
        assert!(
            (a - b).abs() <= 1e-6,
            "step {}: loss {a} straight vs {b} resumed",
            i + 1
        );
    }
    assert_eq!(straight.best, second.best, "same dev scores, same best");

    let (worst, name) = common::max_weight_diff(
        &straight_dir.join(format!("checkpoints/step-{}", 2 * N)),
        &split_dir.join(format!("checkpoints/step-{}", 2 * N)),
    );
    assert!(worst <= 1e-6, "final weights differ by {worst} in {name}");

    // metrics.jsonl of the resumed run reads like the straight one (same steps, same order).
    let steps = |dir: &Path| -> Vec<String> {
        std::fs::read_to_string(dir.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                format!("{}:{}", v["step"], v.get("split").is_some())
            })
            .collect()
    };
    assert_eq!(steps(&straight_dir), steps(&split_dir));
}

#[test]
fn resume_required_without_checkpoint_fails_before_training() {
    let _guard = common::lock();
    let tmp = tempfile::tempdir().unwrap();
    let train_path = common::synth(tmp.path(), "train.jsonl", 8, 3, 1);
    let dev_path = common::synth(tmp.path(), "dev.jsonl", 4, 3, 2);
    let config = common::config(&yaml(&tmp.path().join("run"), &train_path, &dev_path), &[]);
    let mut pg = common::world_of_one();
    let err = train::<B>(
        &config,
        &mut pg,
        &Default::default(),
        Resume::Required,
        &mut common::Quiet,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("--resume: no complete checkpoint under"),
        "{err}"
    );
}
