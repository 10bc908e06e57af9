//! Step checkpoints under `<run>/checkpoints/`: `step-<N>/` directories written atomically,
//! `best` pointing at the best by `dev_score`, the newest `keep_last` kept.
//!
//! A checkpoint directory only ever appears complete (it is filled under a temporary name,
//! fsynced and renamed), so "the latest complete checkpoint" is simply the highest `step-<N>`
//! that holds a `trainer_state.json`.

use std::path::{Path, PathBuf};

use ranker_data::atomic::AtomicDir;
use serde::{Deserialize, Serialize};

use crate::error::TrainError;

/// File inside a checkpoint holding [`TrainerState`].
pub const TRAINER_STATE_FILE: &str = "trainer_state.json";
/// File inside a checkpoint holding the optimiser state.
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
/// Name of the link to the best checkpoint.
pub const BEST_LINK: &str = "best";

/// The best checkpoint so far.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BestScore {
    /// Its step.
    pub step: u64,
    /// Its dev score.
    pub dev_score: f64,
}

/// Where the loop was when the checkpoint was written; enough to continue exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// Format of this file.
    pub version: u32,
    /// Optimiser steps taken.
    pub step: u64,
    /// Epoch the next step belongs to.
    pub epoch: usize,
    /// Steps already taken within that epoch (the data cursor).
    pub step_in_epoch: usize,
    /// Optimiser steps per epoch under the recorded batch layout.
    pub steps_per_epoch: u64,
    /// Total optimiser steps of the run.
    pub total_steps: u64,
    /// `run.seed`.
    pub seed: u64,
    /// Examples per optimiser step over all ranks (must match on resume).
    pub global_batch: usize,
    /// Best dev score so far.
    pub best: Option<BestScore>,
    /// Parameter paths and shapes digest (a checkpoint of another model is refused).
    pub model_fingerprint: String,
    /// The supervision metrics (`data.metrics`), in task order.
    #[serde(default)]
    pub metrics: Vec<String>,
    /// The training set (`data.train`), as configured.
    #[serde(default)]
    pub train_data: Option<String>,
    /// Updates the optimiser has applied (fewer than `step` when fp16 overflows skipped some); absent
    /// in checkpoints written before it was recorded, where it equals `step`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimizer_steps: Option<u64>,
    /// The fp16 dynamic loss scaler (`train.precision: fp16` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_scale: Option<crate::precision::LossScaleState>,
}

impl TrainerState {
    /// Current format.
    pub const VERSION: u32 = 1;
}

/// The checkpoint directory of a run.
#[derive(Debug, Clone)]
pub struct Checkpoints {
    dir: PathBuf,
    keep_last: usize,
}

impl Checkpoints {
    /// `dir` is `<run>/checkpoints`; at most `keep_last` step checkpoints are kept (plus `best`).
    pub fn new(dir: impl Into<PathBuf>, keep_last: usize) -> Self {
        Self {
            dir: dir.into(),
            keep_last: keep_last.max(1),
        }
    }

    /// `<dir>/step-<step>`.
    pub fn step_dir(&self, step: u64) -> PathBuf {
        self.dir.join(format!("step-{step}"))
    }

    /// `<dir>/best`.
    pub fn best_dir(&self) -> PathBuf {
        self.dir.join(BEST_LINK)
    }

    /// Writes checkpoint `step`: `fill` writes the files into the given temporary directory,
    /// then `state` is added and the directory renamed into place.
    pub fn save(
        &self,
        step: u64,
        state: &TrainerState,
        fill: impl FnOnce(&Path) -> Result<(), TrainError>,
    ) -> Result<PathBuf, TrainError> {
        let target = self.step_dir(step);
        let staging = AtomicDir::create(&target).map_err(|e| self.error(&target, e))?;
        fill(staging.path())?;
        let json = serde_json::to_vec_pretty(state).expect("serialisable");
        let state_path = staging.path().join(TRAINER_STATE_FILE);
        std::fs::write(&state_path, json).map_err(|source| TrainError::Io {
            path: state_path,
            source,
        })?;
        staging.commit().map_err(|e| self.error(&target, e))
    }

    /// Points `best` at checkpoint `step` (atomically replacing the link).
    pub fn mark_best(&self, step: u64) -> Result<(), TrainError> {
        let link = self.best_dir();
        let temp = self
            .dir
            .join(format!(".{BEST_LINK}.tmp-{}", std::process::id()));
        let _ = std::fs::remove_file(&temp);
        let io = |source| TrainError::Io {
            path: link.clone(),
            source,
        };
        symlink_dir(Path::new(&format!("step-{step}")), &temp).map_err(io)?;
        std::fs::rename(&temp, &link).map_err(io)
    }

    /// The step `best` points at, if any.
    pub fn best_step(&self) -> Option<u64> {
        let target = std::fs::read_link(self.best_dir()).ok()?;
        parse_step(target.file_name()?.to_str()?)
    }

    /// Complete step checkpoints, oldest first.
    pub fn list(&self) -> Result<Vec<(u64, PathBuf)>, TrainError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(TrainError::Io {
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(step) = name.to_str().and_then(parse_step) else {
                continue;
            };
            let path = entry.path();
            if path.join(TRAINER_STATE_FILE).is_file() {
                found.push((step, path));
            }
        }
        found.sort();
        Ok(found)
    }

    /// The newest complete checkpoint.
    pub fn latest(&self) -> Result<Option<(u64, PathBuf)>, TrainError> {
        Ok(self.list()?.pop())
    }

    /// Removes the oldest step checkpoints beyond `keep_last`, never the one `best` points at,
    /// and leftovers of interrupted writes.
    pub fn prune(&self) -> Result<(), TrainError> {
        let best = self.best_step();
        let all = self.list()?;
        let excess = all.len().saturating_sub(self.keep_last);
        for (step, path) in &all[..excess] {
            if Some(*step) == best {
                continue;
            }
            std::fs::remove_dir_all(path).map_err(|source| TrainError::Io {
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    }

    /// Removes temporary directories left by a crash during a write (called by rank 0 at start).
    pub fn remove_stale_temporaries(&self) -> Result<(), TrainError> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stale =
                name.starts_with("step-") && (name.contains(".tmp-") || name.contains(".old-"));
            if stale {
                let path = entry.path();
                tracing::warn!(
                    "removing {} left by an interrupted checkpoint write",
                    path.display()
                );
                std::fs::remove_dir_all(&path).map_err(|source| TrainError::Io { path, source })?;
            }
        }
        Ok(())
    }

    /// Reads the trainer state of the checkpoint at `dir`.
    pub fn read_state(dir: &Path) -> Result<TrainerState, TrainError> {
        let path = dir.join(TRAINER_STATE_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| TrainError::Io {
            path: path.clone(),
            source,
        })?;
        let state: TrainerState =
            serde_json::from_str(&text).map_err(|e| TrainError::Checkpoint {
                path: dir.to_path_buf(),
                message: format!("{TRAINER_STATE_FILE}: {e}"),
            })?;
        if state.version != TrainerState::VERSION {
            return Err(TrainError::Checkpoint {
                path: dir.to_path_buf(),
                message: format!(
                    "{TRAINER_STATE_FILE} has format version {}, this build reads {}",
                    state.version,
                    TrainerState::VERSION
                ),
            });
        }
        Ok(state)
    }

    fn error(&self, path: &Path, e: ranker_data::DataError) -> TrainError {
        TrainError::Checkpoint {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}

fn parse_step(name: &str) -> Option<u64> {
    name.strip_prefix("step-")?.parse().ok()
}

#[cfg(unix)]
fn symlink_dir(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink_dir(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::windows::fs::symlink_dir(target, link)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(step: u64) -> TrainerState {
        TrainerState {
            version: TrainerState::VERSION,
            step,
            epoch: 0,
            step_in_epoch: step as usize,
            steps_per_epoch: 100,
            total_steps: 100,
            seed: 1,
            global_batch: 8,
            best: None,
            model_fingerprint: "x".into(),
            metrics: vec!["rougeL".into()],
            train_data: None,
            optimizer_steps: None,
            loss_scale: None,
        }
    }

    fn save(c: &Checkpoints, step: u64) -> PathBuf {
        c.save(step, &state(step), |dir| {
            std::fs::write(dir.join("model.safetensors"), b"w").unwrap();
            Ok(())
        })
        .unwrap()
    }

    #[test]
    fn save_list_best_and_prune() {
        let dir = tempfile::tempdir().unwrap();
        let c = Checkpoints::new(dir.path().join("checkpoints"), 2);
        for step in [10, 20, 30] {
            save(&c, step);
        }
        c.mark_best(10).unwrap();
        save(&c, 40);
        c.prune().unwrap();
        let steps: Vec<u64> = c.list().unwrap().iter().map(|s| s.0).collect();
        assert_eq!(steps, [10, 30, 40], "best survives, two newest kept");
        assert_eq!(c.best_step(), Some(10));
        assert!(c.best_dir().join("model.safetensors").is_file());
        c.mark_best(40).unwrap();
        c.prune().unwrap();
        let steps: Vec<u64> = c.list().unwrap().iter().map(|s| s.0).collect();
        assert_eq!(steps, [30, 40]);
        assert_eq!(c.latest().unwrap().unwrap().0, 40);
        assert_eq!(Checkpoints::read_state(&c.step_dir(40)).unwrap(), state(40));
    }

    #[test]
    fn a_failed_write_leaves_no_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let c = Checkpoints::new(dir.path().join("checkpoints"), 2);
        save(&c, 5);
        let err = c
            .save(6, &state(6), |dir| {
                std::fs::write(dir.join("model.safetensors"), b"partial").unwrap();
                Err(TrainError::Checkpoint {
                    path: dir.to_path_buf(),
                    message: "disk full".into(),
                })
            })
            .unwrap_err();
        assert!(err.to_string().contains("disk full"));
        assert_eq!(c.latest().unwrap().unwrap().0, 5);
        let names: Vec<String> = std::fs::read_dir(dir.path().join("checkpoints"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["step-5"]);
    }

    #[test]
    fn incomplete_directories_are_not_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let c = Checkpoints::new(dir.path().join("checkpoints"), 3);
        save(&c, 1);
        std::fs::create_dir_all(c.step_dir(2)).unwrap();
        std::fs::create_dir_all(dir.path().join("checkpoints/step-3.tmp-99")).unwrap();
        assert_eq!(c.latest().unwrap().unwrap().0, 1);
        c.remove_stale_temporaries().unwrap();
        assert!(!dir.path().join("checkpoints/step-3.tmp-99").exists());
    }

    #[test]
    fn wrong_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let c = Checkpoints::new(dir.path(), 1);
        let mut s = state(1);
        s.version = 99;
        c.save(1, &s, |_| Ok(())).unwrap();
        let err = Checkpoints::read_state(&c.step_dir(1))
            .unwrap_err()
            .to_string();
        assert!(err.contains("format version 99"), "{err}");
    }
}
