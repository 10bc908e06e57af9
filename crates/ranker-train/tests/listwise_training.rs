//! SummaReranker and SimCLS train through the one loop: on synthetic data with the tiny random-init model,
//! the training loss falls and the held-out selection of the `best` checkpoint (through `ranker eval`'s path)
//! beats random selection on the first metric; a run resumes exactly from a checkpoint; micro-batches of
//! examples with different candidate counts train when the draws agree and name the example otherwise.
//! Trainings take the shared lock: burn's backend RNG is process-global.

mod common;

use std::path::Path;

use burn::backend::{Autodiff, Flex};
use ranker_eval::EvalOutcome;
use ranker_train::{evaluation, train, Resume, TrainSummary};

/// The quickstart's settings (`configs/quickstart.yaml`) on smaller data, one epoch of `steps` steps.
fn yaml(ranker: &str, dir: &Path, steps: usize) -> String {
    let train = common::synth(dir, "train.jsonl", 8 * steps, 11, 1);
    let dev = common::synth(dir, "dev.jsonl", 16, 11, 2);
    let test = common::synth(dir, "test.jsonl", 48, 11, 3);
    format!(
        r#"
run: {{name: {ranker}, output_dir: {out}, seed: 42}}
data: {{train: {train}, dev: {dev}, test: {test}, metrics: [rougeL, bleu]}}
model:
  ranker: {ranker}
  backbone: {{path: {model}, init: random}}
  source_max_len: 64
  candidate_max_len: 64
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
eval: {{batch_size: 16}}
"#,
        out = dir.join("run").display(),
        train = train.display(),
        dev = dev.display(),
        test = test.display(),
        model = common::tiny_model().display(),
    )
}

/// Trains `ranker` for `steps` steps, then evaluates the `best` checkpoint on the test split.
fn train_and_evaluate(ranker: &str, steps: usize) -> (TrainSummary, EvalOutcome) {
    let _guard = common::lock();
    let tmp = tempfile::tempdir().unwrap();
    let config = common::config(&yaml(ranker, tmp.path(), steps), &[]);
    let summary = common::train_alone(&config).unwrap();
    let mut pg = common::world_of_one();
    let device = Default::default();
    assert_eq!(summary.steps, steps as u64);
    let checkpoint = evaluation::resolve_checkpoint(&config, None).unwrap();
    assert!(checkpoint.ends_with("best"), "{}", checkpoint.display());
    let outcome = evaluation::evaluate::<Flex>(&config, &checkpoint, &mut pg, &device).unwrap();
    assert!(tmp.path().join("run/eval/report.json").is_file());
    (summary, outcome)
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Mean of the first `k` step losses and of the last `k`.
fn first_and_last(losses: &[f64], k: usize) -> (f64, f64) {
    (mean(&losses[..k]), mean(&losses[losses.len() - k..]))
}

/// Loss of the first and last 5 steps, and the test split's selection and random baseline on `rougeL`.
fn measure(summary: &TrainSummary, outcome: &EvalOutcome) -> (f64, f64, f64, f64) {
    assert_eq!(outcome.report.mode, "listwise");
    let (first, last) = first_and_last(&summary.losses, 5);
    let sel = outcome.report.sel.get("rougeL").unwrap();
    let random = outcome.report.random.get("rougeL").unwrap();
    (first, last, sel, random)
}

// Measured (Flex CPU backend; metrics rougeL and bleu; 48 test items × 11 candidates, oracle rougeL 0.938,
// random 0.491):
// - SummaReranker, 60 steps: loss 0.699 → 0.288 (mean of the first / last 5 steps); test sel/rougeL 0.877
//   (+0.386 over random). The untrained model selects 0.457 (−0.034).
#[test]
fn summa_reranker_loss_falls_and_selection_beats_random() {
    let (summary, outcome) = train_and_evaluate("summareranker", 60);
    let (first, last, sel, random) = measure(&summary, &outcome);
    assert!(last < 0.7 * first, "loss {first} -> {last}");
    assert!(sel - random > 0.2, "sel {sel} vs random {random}");
}

// - SimCLS, 40 steps: loss 2.500 → 0.218; test sel/rougeL 0.925 (+0.433 over random). A random encoder already
//   prefers candidates that share words with the source: the untrained model selects 0.780 (+0.289), so the
//   margin asked for is above that.
#[test]
fn simcls_loss_falls_and_selection_beats_random() {
    let (summary, outcome) = train_and_evaluate("simcls", 40);
    let (first, last, sel, random) = measure(&summary, &outcome);
    assert!(last < 0.5 * first, "loss {first} -> {last}");
    assert!(sel - random > 0.36, "sel {sel} vs random {random}");
}

/// Training data whose items have 5 or 4 candidates, interleaved.
fn ragged_train_file(dir: &Path) -> std::path::PathBuf {
    let five = std::fs::read_to_string(common::synth(dir, "five.jsonl", 8, 5, 4)).unwrap();
    let four = std::fs::read_to_string(common::synth(dir, "four.jsonl", 8, 4, 5)).unwrap();
    let lines: Vec<&str> = five
        .lines()
        .zip(four.lines())
        .flat_map(|(a, b)| [a, b])
        .collect();
    let path = dir.join("ragged.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

#[test]
fn ragged_micro_batches_train_when_the_draws_agree_and_name_the_example_otherwise() {
    let tmp = tempfile::tempdir().unwrap();
    let train_path = ragged_train_file(tmp.path());
    let run = |ranker: &str, dir: &str| {
        let _guard = common::lock();
        let sets = [
            format!("data.train={}", train_path.display()),
            "data.dev=null".into(),
            "data.test=null".into(),
            "train.max_steps=2".into(),
            format!("run.output_dir={}", tmp.path().join(dir).display()),
        ];
        let config = common::config(&yaml(ranker, &tmp.path().join(dir), 1), &sets);
        common::train_alone(&config)
    };
    // top_bottom draws the best and the worst of every example: 2 each, whatever the candidate count.
    let summary = run("summareranker", "summa").unwrap();
    assert_eq!(summary.steps, 2);
    // uniform shares one order over the micro-batch: the counts must agree.
    let err = run("simcls", "simcls").unwrap_err().to_string();
    assert!(err.starts_with("data.train: example "), "{err}");
    assert!(
        err.contains(" candidates but example ") && err.contains("in the same micro-batch has "),
        "{err}"
    );
    assert!(!err.contains('\n'));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// 2N steps straight against N steps, then a fresh run directory holding only the step-N checkpoint resumed to
/// 2N: the checkpoint's weights, optimiser state and data cursor continue the run exactly (SummaReranker's gate
/// noise included), losses and final weights within 1e-6.
#[test]
fn listwise_runs_resume_exactly_from_a_checkpoint() {
    const N: usize = 3;
    for ranker in ["summareranker", "simcls"] {
        let _guard = common::lock();
        let tmp = tempfile::tempdir().unwrap();
        let sets = |dir: &str| {
            vec![
                "data.dev=null".to_owned(),
                "data.test=null".into(),
                format!("train.save_every={N}"),
                format!("run.output_dir={}", tmp.path().join(dir).display()),
            ]
        };
        let text = yaml(ranker, tmp.path(), 2 * N);
        let straight_config = common::config(&text, &sets("straight"));
        let straight = common::train_alone(&straight_config).unwrap();
        assert_eq!(straight.losses.len(), 2 * N, "{ranker}");

        let resumed_dir = tmp.path().join("resumed");
        copy_dir(
            &tmp.path().join(format!("straight/checkpoints/step-{N}")),
            &resumed_dir.join(format!("checkpoints/step-{N}")),
        );
        let resumed_config = common::config(&text, &sets("resumed"));
        let resumed = train::<Autodiff<Flex>>(
            &resumed_config,
            &mut common::world_of_one(),
            &Default::default(),
            Resume::Required,
            &mut common::Quiet,
        )
        .unwrap();
        assert_eq!(resumed.steps, 2 * N as u64, "{ranker}");
        for (i, (a, b)) in straight.losses[N..].iter().zip(&resumed.losses).enumerate() {
            assert!(
                (a - b).abs() <= 1e-6,
                "{ranker} step {}: loss {a} straight vs {b} resumed",
                N + i + 1
            );
        }
        let last = format!("checkpoints/step-{}", 2 * N);
        let (worst, name) = common::max_weight_diff(
            &tmp.path().join("straight").join(&last),
            &resumed_dir.join(&last),
        );
        assert!(worst <= 1e-6, "{ranker}: {name} differs by {worst}");
    }
}
