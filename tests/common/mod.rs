//! Shared helpers of the end-to-end tests: the built binaries, synthetic data, configs, run outputs.

#![allow(dead_code)]

mod diff;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ranker_data::{synth_file, SynthOptions};
use serde_json::Value;

// Each test binary uses its own subset of the helpers.
#[allow(unused_imports)]
pub use diff::{max_abs_diff, max_weight_diff, weights};

/// A workspace binary next to this test's executable (`cargo test --workspace` builds them all).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is not built; run the tests with `cargo test --workspace` (or `cargo build -p ranker-cli -p launcher` first)",
        path.display()
    );
    path
}

/// `launch` with quiet, deterministic worker settings.
pub fn launch() -> Command {
    let mut cmd = Command::new(bin("launch"));
    cmd.env("RANKER_BIN", bin("ranker"))
        .env("RANKER_LOG", "warn")
        .env("RAYON_NUM_THREADS", "1")
        .env("OMP_NUM_THREADS", "1");
    cmd
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Writes a synthetic MixInstruct-format set.
pub fn synth(dir: &Path, name: &str, items: usize, candidates: usize, seed: u64) -> PathBuf {
    let path = dir.join(name);
    let options = SynthOptions {
        n_items: items,
        n_candidates: candidates,
        seed,
        ..SynthOptions::default()
    };
    synth_file(&path, options, &|_| {}).expect("synthetic data");
    path
}

/// Runs a command, failing the test with its output when it fails.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{:?} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        cmd,
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `(step, loss)` of every training line of a run's `metrics.jsonl`.
pub fn step_losses(run_dir: &Path) -> Vec<(u64, f64)> {
    std::fs::read_to_string(run_dir.join("metrics.jsonl"))
        .expect("metrics.jsonl")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON line"))
        .filter(|v| v.get("loss").is_some())
        .map(|v| (v["step"].as_u64().unwrap(), v["loss"].as_f64().unwrap()))
        .collect()
}
/// Writes `yaml` as `dir/config.yaml` (creating `dir`) and returns its path.
pub fn write_config(dir: &Path, yaml: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("config.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

/// `ranker -q encode --model MODEL EXTRA...` on JSON lines through stdin: one output value per input line
/// (a panic naming the model and stderr when the command fails or the counts differ).
pub fn ranker_encode(model: &Path, lines: &[Value], extra: &[&str]) -> Vec<Value> {
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let out = with_stdin(
        Command::new(bin("ranker"))
            .args(["-q", "encode", "--input", "-", "--model"])
            .arg(model)
            .args(extra),
        &input,
    );
    assert!(
        out.status.success(),
        "{}: {}",
        model.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let outputs: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(outputs.len(), lines.len(), "one output line per input line");
    outputs
}

/// Runs `cmd` with `input` on its stdin and its stdout and stderr captured.
pub fn with_stdin(cmd: &mut Command, input: &str) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Written from a thread: a command that answers before it read everything must not block us.
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    let _ = writer.join();
    out
}
