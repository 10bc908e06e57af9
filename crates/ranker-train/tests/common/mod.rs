//! Shared setup of the training tests: synthetic data in a temp dir, a tiny-model config, a world of
//! one, and a lock (burn's backend RNG is process-global, so trainings must not overlap).

#![allow(dead_code)]

#[path = "../../../../tests/common/diff.rs"]
mod diff;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use burn::backend::{Autodiff, Flex};
use ranker_data::{synth_file, SynthOptions};
use ranker_dist::{DistEnv, DistOptions, ProcessGroup};
use ranker_train::config::{Config, Override};
use ranker_train::metrics_log::StepRecord;
use ranker_train::{Resume, TrainError, TrainObserver, TrainSummary};

// Each test binary uses its own subset of the helpers.
#[allow(unused_imports)]
pub use diff::{max_abs_diff, max_weight_diff, weights};

static TRAINING: Mutex<()> = Mutex::new(());

/// Serialises trainings within one test binary.
pub fn lock() -> MutexGuard<'static, ()> {
    TRAINING.lock().unwrap_or_else(|e| e.into_inner())
}

/// A single-process group (no launcher env).
pub fn world_of_one() -> ProcessGroup {
    let env = DistEnv::from_map(&HashMap::new()).unwrap();
    ranker_dist::init(env, &DistOptions::default()).unwrap()
}

/// Writes `items` synthetic items with `seed` to `dir/name`.
pub fn synth(dir: &Path, name: &str, items: usize, candidates: usize, seed: u64) -> PathBuf {
    let path = dir.join(name);
    let options = SynthOptions {
        n_items: items,
        n_candidates: candidates,
        seed,
        ..SynthOptions::default()
    };
    synth_file(&path, options, &|_| {}).unwrap();
    path
}

/// The repository's tiny DeBERTa-v3-style model directory.
pub fn tiny_model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/models/deberta-v3-tiny")
}

/// A config from YAML text plus `--set` overrides.
pub fn config(yaml: &str, sets: &[String]) -> Config {
    let overrides: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
    Config::from_yaml_str(yaml, Path::new("test.yaml"), &overrides).unwrap()
}

/// Trains `config` on the CPU (Flex with autodiff) in a world of one, reporting nothing.
pub fn train_alone(config: &Config) -> Result<TrainSummary, TrainError> {
    ranker_train::train::<Autodiff<Flex>>(
        config,
        &mut world_of_one(),
        &Default::default(),
        Resume::Auto,
        &mut Quiet,
    )
}

/// An observer that reports nothing.
pub struct Quiet;
impl TrainObserver for Quiet {}

/// Raises SIGUSR1 after step `at`, so that the run stops after step `at + 1`.
pub struct StopAfter {
    pub at: u64,
}

impl TrainObserver for StopAfter {
    fn step(&mut self, record: &StepRecord, _total: u64) {
        if record.step == self.at {
            // SAFETY: raising a signal whose handler only sets an atomic flag.
            unsafe {
                libc::raise(libc::SIGUSR1);
            }
        }
    }
}
