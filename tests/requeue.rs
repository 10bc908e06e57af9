//! SIGUSR1 to `launch` (what Slurm's `--signal=B:USR1@…` trap forwards): the workers checkpoint and stop with exit
//! 75, `launch` exits 75 (never 0, so Slurm cannot record a finished run), and a rerun resumes to the same final
//! weights as an uninterrupted run.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

fn config(dir: &Path, train: &Path, dev: &Path) -> String {
    format!(
        r#"task: train
run: {{name: requeue, output_dir: {out}, seed: 5}}
data: {{train: {train}, dev: {dev}, metrics: [rougeL]}}
model:
  backbone: {{path: {model}, init: random}}
  source_max_len: 64
  candidate_max_len: 64
  dropout: 0.0
train:
  max_steps: 8
  per_device_batch: 2
  grad_accum: 1
  optimizer: adamw
  lr: 1.0e-3
  warmup_ratio: 0.2
  max_grad_norm: 1.0
  save_every: 2
  log_every: 1
eval: {{batch_size: 16}}
dist: {{backend: tcp, timeout_s: 60}}
"#,
        out = dir.join("run").display(),
        train = train.display(),
        dev = dev.display(),
        model = common::repo()
            .join("configs/models/deberta-v3-tiny")
            .display(),
    )
}

fn write_config(dir: &Path, yaml: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("config.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

#[test]
fn usr1_stops_with_exit_75_and_the_rerun_resumes_to_the_same_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let train = common::synth(tmp.path(), "train.jsonl", 40, 5, 41);
    let dev = common::synth(tmp.path(), "dev.jsonl", 6, 5, 42);

    let straight = tmp.path().join("straight");
    let cfg = write_config(&straight, &config(&straight, &train, &dev));
    common::run_ok(common::launch().args(["--nproc", "2"]).arg(&cfg));

    let stopped = tmp.path().join("stopped");
    let cfg = write_config(&stopped, &config(&stopped, &train, &dev));
    let child = common::launch()
        .args(["--nproc", "2"])
        .arg(&cfg)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let first = stopped.join("run/checkpoints/step-2/trainer_state.json");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !first.exists() {
        assert!(Instant::now() < deadline, "no checkpoint after 120 s");
        std::thread::sleep(Duration::from_millis(20));
    }
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
        !stopped.join("run/checkpoints/step-8").exists(),
        "the run stopped early"
    );

    common::run_ok(common::launch().args(["--nproc", "2"]).arg(&cfg));
    let (diff, name) = common::max_weight_diff(
        &straight.join("run/checkpoints/step-8"),
        &stopped.join("run/checkpoints/step-8"),
    );
    assert!(diff <= 1e-6, "final weights differ by {diff} in {name}");
}
