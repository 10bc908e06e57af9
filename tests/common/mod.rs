//! Shared helpers of the end-to-end tests: the built binaries, synthetic data, configs, run outputs.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ranker_data::{synth_file, SynthOptions};
use serde_json::Value;

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

/// The weights of a checkpoint directory, by tensor name.
pub fn weights(checkpoint: &Path) -> HashMap<String, Vec<f32>> {
    ranker_models::read_safetensors(&checkpoint.join("model.safetensors"))
        .expect("model.safetensors")
        .into_iter()
        .map(|(k, v)| (k, v.convert::<f32>().into_vec::<f32>().unwrap()))
        .collect()
}

/// The largest `|a[i] − b[i]|`: NaN when either side holds a NaN (so `diff <= tol` fails), and a
/// panic when the lengths differ.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "compared vectors differ in length");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, |worst, d| {
            if worst.is_nan() || d.is_nan() {
                f32::NAN
            } else {
                worst.max(d)
            }
        })
}

/// The largest absolute difference between two checkpoints' weights, and where (NaN when a weight
/// is NaN; a panic when the tensor names or sizes differ).
pub fn max_weight_diff(a: &Path, b: &Path) -> (f32, String) {
    let (a, b) = (weights(a), weights(b));
    let mut names: Vec<&String> = a.keys().collect();
    names.sort();
    let mut other: Vec<&String> = b.keys().collect();
    other.sort();
    assert_eq!(names, other, "the checkpoints hold different tensors");
    let mut worst = (0f32, String::new());
    for name in names {
        let diff = max_abs_diff(&a[name], &b[name]);
        if diff.is_nan() {
            return (diff, name.clone());
        }
        if diff > worst.0 {
            worst = (diff, name.clone());
        }
    }
    worst
}

/// Writes `yaml` as `dir/config.yaml` (creating `dir`) and returns its path.
pub fn write_config(dir: &Path, yaml: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("config.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}
