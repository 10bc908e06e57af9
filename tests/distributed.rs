//! Data-parallel equivalence and fault tolerance, through `launch` and `ranker` as a user runs them
//! (CPU, host TCP backend): N workers × batch b ≡ 1 × N·b, a killed worker's group restarts to the same weights,
//! and a SIGUSR1-stopped run exits 75 and resumes to the same weights.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

/// A PairRanker config on the tiny model with dropout 0.1 in the head and in the backbone
/// ([`tiny_model_with_dropout`]): the masks are keyed by the pair, not by the rank or batch.
/// `extra_train` adds lines to the `train:` section.
fn config(
    dir: &Path,
    train: &Path,
    dev: &Path,
    per_device_batch: usize,
    extra_train: &str,
) -> String {
    format!(
        r#"task: train
run: {{name: dist, output_dir: {out}, seed: 3}}
data: {{train: {train}, dev: {dev}, metrics: [rougeL]}}
model:
  backbone: {{path: {model}, init: random}}
  source_max_len: 64
  candidate_max_len: 64
  dropout: 0.1
train:
  max_steps: 6
  per_device_batch: {per_device_batch}
  grad_accum: 2
  optimizer: adamw
  lr: 1.0e-3
  warmup_ratio: 0.2
  max_grad_norm: 1.0
  save_every: 2
  log_every: 1
{extra_train}
eval: {{batch_size: 16}}
dist: {{backend: tcp, timeout_s: 60}}
"#,
        out = dir.join("run").display(),
        train = train.display(),
        dev = dev.display(),
        model = tiny_model_with_dropout(dir).display(),
    )
}

/// The bundled tiny DeBERTa-v3 (which has no dropout) copied under `dir` with hidden and attention
/// dropout 0.1.
fn tiny_model_with_dropout(dir: &Path) -> std::path::PathBuf {
    let source = common::repo().join("configs/models/deberta-v3-tiny");
    let target = dir.join("deberta-v3-tiny-dropout");
    std::fs::create_dir_all(&target).unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, target.join(path.file_name().unwrap())).unwrap();
    }
    let config_path = target.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    for key in ["hidden_dropout_prob", "attention_probs_dropout_prob"] {
        assert!(
            config.get(key).is_some(),
            "{key} in the tiny model's config.json"
        );
        config[key] = serde_json::json!(0.1);
    }
    std::fs::write(&config_path, config.to_string()).unwrap();
    target
}

#[test]
fn two_workers_of_batch_b_equal_one_worker_of_batch_2b() {
    let tmp = tempfile::tempdir().unwrap();
    let train = common::synth(tmp.path(), "train.jsonl", 40, 5, 21);
    let dev = common::synth(tmp.path(), "dev.jsonl", 6, 5, 22);

    let two = tmp.path().join("two");
    let cfg = common::write_config(&two, &config(&two, &train, &dev, 2, ""));
    common::run_ok(
        common::launch()
            .args(["--nproc", "2", "--log-dir"])
            .arg(two.join("logs"))
            .arg(&cfg),
    );

    let one = tmp.path().join("one");
    let cfg = common::write_config(&one, &config(&one, &train, &dev, 4, ""));
    common::run_ok(
        common::launch()
            .args(["--nproc", "1", "--log-dir"])
            .arg(one.join("logs"))
            .arg(&cfg),
    );

    let (a, b) = (
        common::step_losses(&two.join("run")),
        common::step_losses(&one.join("run")),
    );
    assert_eq!(a.len(), 6, "{a:?}");
    assert_eq!(
        a.iter().map(|s| s.0).collect::<Vec<_>>(),
        b.iter().map(|s| s.0).collect::<Vec<_>>()
    );
    for ((step, x), (_, y)) in a.iter().zip(&b) {
        assert!(
            (x - y).abs() <= 1e-5,
            "step {step}: loss {x} with 2 workers vs {y} with 1"
        );
    }
    let (diff, name) = common::max_weight_diff(
        &two.join("run/checkpoints/step-6"),
        &one.join("run/checkpoints/step-6"),
    );
    assert!(diff <= 1e-5, "final weights differ by {diff} in {name}");
    assert_weights_moved(&one.join("run/checkpoints"));

    // The memory savers through launch: 2 workers forwarding at most 3 pairs at a time, with
    // activation checkpointing, take the same steps as 1 worker doing neither.
    let fitted = tmp.path().join("fitted");
    let extra = "  max_pairs_per_forward: 3\n  activation_checkpointing: true";
    let cfg = common::write_config(&fitted, &config(&fitted, &train, &dev, 2, extra));
    common::run_ok(
        common::launch()
            .args(["--nproc", "2", "--log-dir"])
            .arg(fitted.join("logs"))
            .arg(&cfg),
    );
    let c = common::step_losses(&fitted.join("run"));
    assert_eq!(c.len(), 6, "{c:?}");
    for ((step, x), (_, y)) in c.iter().zip(&b) {
        assert!(
            (x - y).abs() <= 1e-5,
            "step {step}: loss {x} with 2 fitted workers vs {y} with 1"
        );
    }
    let (diff, name) = common::max_weight_diff(
        &fitted.join("run/checkpoints/step-6"),
        &one.join("run/checkpoints/step-6"),
    );
    assert!(
        diff <= 1e-5,
        "fitted: final weights differ by {diff} in {name}"
    );
}

/// Training changed the weights between the first checkpoint (step 2) and the last (step 6) by far
/// more than the tolerances above, so matching final weights is not the trivial match of two
/// untrained models.
fn assert_weights_moved(checkpoints: &Path) {
    let (moved, name) =
        common::max_weight_diff(&checkpoints.join("step-2"), &checkpoints.join("step-6"));
    assert!(
        moved > 1e-3,
        "weights barely moved from step 2 to step 6 (largest change {moved} in {name})"
    );
}

#[test]
fn a_killed_worker_tears_the_group_down_and_a_restart_resumes_to_the_same_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let train = common::synth(tmp.path(), "train.jsonl", 40, 5, 31);
    let dev = common::synth(tmp.path(), "dev.jsonl", 6, 5, 32);

    let straight = tmp.path().join("straight");
    let cfg = common::write_config(&straight, &config(&straight, &train, &dev, 2, ""));
    common::run_ok(
        common::launch()
            .args(["--nproc", "2", "--log-dir"])
            .arg(straight.join("logs"))
            .arg(&cfg),
    );

    let restarted = tmp.path().join("restarted");
    let cfg = common::write_config(&restarted, &config(&restarted, &train, &dev, 2, ""));
    let child = spawn_launch(
        &["--nproc", "2", "--max-restarts", "1", "--term-timeout", "5"],
        &restarted,
        &cfg,
    );
    // Once the first checkpoint exists, kill rank 1 (found by its RANK in /proc).
    wait_for_first_checkpoint(&restarted);
    let victim = worker_pid(child.id(), "1").expect("rank 1 is running");
    unsafe {
        libc::kill(victim as i32, libc::SIGKILL);
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the restarted group finishes: {stderr}"
    );
    assert!(
        stderr.contains("SIGKILL") || stderr.contains("restart"),
        "{stderr}"
    );

    let (diff, name) = common::max_weight_diff(
        &straight.join("run/checkpoints/step-6"),
        &restarted.join("run/checkpoints/step-6"),
    );
    assert!(diff <= 1e-6, "final weights differ by {diff} in {name}");
    assert_weights_moved(&straight.join("run/checkpoints"));
    let (a, b) = (
        common::step_losses(&straight.join("run")),
        common::step_losses(&restarted.join("run")),
    );
    assert_eq!(a.len(), b.len());
    for ((step, x), (_, y)) in a.iter().zip(&b) {
        assert!((x - y).abs() <= 1e-6, "step {step}: {x} vs {y}");
    }
}

#[test]
fn usr1_stops_with_exit_75_and_the_rerun_resumes_to_the_same_weights() {
    // SIGUSR1 to `launch` is what Slurm's `--signal=B:USR1@…` trap forwards: the workers checkpoint and stop with
    // exit 75, and `launch` exits 75 (never 0, so Slurm cannot record an unfinished run as finished).
    let tmp = tempfile::tempdir().unwrap();
    let train = common::synth(tmp.path(), "train.jsonl", 40, 5, 41);
    let dev = common::synth(tmp.path(), "dev.jsonl", 6, 5, 42);

    let straight = tmp.path().join("straight");
    let cfg = common::write_config(&straight, &config(&straight, &train, &dev, 2, ""));
    common::run_ok(common::launch().args(["--nproc", "2"]).arg(&cfg));

    let stopped = tmp.path().join("stopped");
    let cfg = common::write_config(&stopped, &config(&stopped, &train, &dev, 2, ""));
    let child = spawn_launch(&["--nproc", "2"], &stopped, &cfg);
    wait_for_first_checkpoint(&stopped);
    // SAFETY: plain kill of our child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGUSR1);
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    assert!(
        stderr.contains("stopped at a checkpoint for requeue"),
        "{stderr}"
    );
    assert!(
        !stopped.join("run/checkpoints/step-6").exists(),
        "the run stopped early"
    );

    common::run_ok(common::launch().args(["--nproc", "2"]).arg(&cfg));
    let (diff, name) = common::max_weight_diff(
        &straight.join("run/checkpoints/step-6"),
        &stopped.join("run/checkpoints/step-6"),
    );
    assert!(diff <= 1e-6, "final weights differ by {diff} in {name}");
    assert_weights_moved(&straight.join("run/checkpoints"));
}

/// `launch ARGS --log-dir DIR/logs CONFIG` started in the background with its output captured.
fn spawn_launch(args: &[&str], dir: &Path, config: &Path) -> std::process::Child {
    common::launch()
        .args(args)
        .arg("--log-dir")
        .arg(dir.join("logs"))
        .arg(config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits (at most 120 s) until the run under `dir` has written its step-2 checkpoint.
fn wait_for_first_checkpoint(dir: &Path) {
    let first = dir.join("run/checkpoints/step-2/trainer_state.json");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !first.exists() {
        assert!(Instant::now() < deadline, "no checkpoint after 120 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The pid of the worker with `RANK=rank` among the descendants of `launcher`.
fn worker_pid(launcher: u32, rank: &str) -> Option<u32> {
    let want = format!("RANK={rank}");
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let ppid: u32 = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        if ppid != launcher {
            continue;
        }
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if environ.split(|&b| b == 0).any(|kv| kv == want.as_bytes()) {
            return Some(pid);
        }
    }
    None
}
