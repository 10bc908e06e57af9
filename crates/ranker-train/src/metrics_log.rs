//! `metrics.jsonl`: one JSON object per logged step and per evaluation, appended by rank 0.
//!
//! On resume the lines of steps after the checkpoint are dropped, so that a resumed run's log
//! reads exactly like an uninterrupted one.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::error::TrainError;

/// A training-step line: `{"step", "epoch", "loss", "lr", "grad_norm", "pairs_per_s", "peak_rss_mib"}`,
/// with `"loss_scale"` under fp16 and `"skipped": true` on a step an fp16 overflow skipped.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRecord {
    /// Optimiser steps taken.
    pub step: u64,
    /// Fractional epoch.
    pub epoch: f64,
    /// Mean training loss of the step (over all ranks and micro-batches).
    pub loss: f64,
    /// Learning rate used by the step.
    pub lr: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Training throughput over all ranks (pairs or candidates per second).
    pub pairs_per_s: f64,
    /// This process's peak resident memory so far, MiB (where procfs has it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rss_mib: Option<f64>,
    /// fp16: the loss scale for the next step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss_scale: Option<f64>,
    /// fp16: true when an inf/NaN gradient skipped this step's update.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
}

/// An evaluation line: `{"step", "epoch", "split": "dev", "dev_score", "sel/<metric>", …}`.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalRecord {
    /// Optimiser steps taken.
    pub step: u64,
    /// Fractional epoch.
    pub epoch: f64,
    /// The checkpoint-selection score.
    pub dev_score: f64,
    /// Further `name → value` pairs (`sel/rougeL`, `oracle/rougeL`, …), in order.
    pub metrics: Vec<(String, f64)>,
}

impl Serialize for EvalRecord {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(4 + self.metrics.len()))?;
        map.serialize_entry("step", &self.step)?;
        map.serialize_entry("epoch", &self.epoch)?;
        map.serialize_entry("split", "dev")?;
        map.serialize_entry("dev_score", &self.dev_score)?;
        for (name, value) in &self.metrics {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// The append-only metrics file.
pub struct MetricsLog {
    path: PathBuf,
    file: File,
}

impl MetricsLog {
    /// Opens `path` for appending; with `resume_step`, first drops every line whose `step` is
    /// greater (they belong to work after the checkpoint being resumed). Without it, starts empty.
    pub fn open(path: &Path, resume_step: Option<u64>) -> Result<Self, TrainError> {
        let io = |source| TrainError::Io {
            path: path.to_path_buf(),
            source,
        };
        let kept = match (resume_step, path.exists()) {
            (Some(step), true) => {
                let mut kept = String::new();
                for line in BufReader::new(File::open(path).map_err(io)?).lines() {
                    let line = line.map_err(io)?;
                    let line_step = serde_json::from_str::<Value>(&line)
                        .ok()
                        .and_then(|v| v.get("step").and_then(Value::as_u64));
                    if line_step.is_some_and(|s| s <= step) {
                        kept.push_str(&line);
                        kept.push('\n');
                    }
                }
                kept
            }
            _ => String::new(),
        };
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)
            .map_err(io)?;
        file.write_all(kept.as_bytes()).map_err(io)?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Appends a training-step line.
    pub fn log_step(&mut self, record: &StepRecord) -> Result<(), TrainError> {
        self.append(record)
    }

    /// Appends an evaluation line.
    pub fn log_eval(&mut self, record: &EvalRecord) -> Result<(), TrainError> {
        self.append(record)
    }

    fn append<T: Serialize>(&mut self, value: &T) -> Result<(), TrainError> {
        let mut line = serde_json::to_string(value).expect("serialisable");
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|source| TrainError::Io {
                path: self.path.clone(),
                source,
            })
    }
}

/// Reads `(step, value)` series for `key` from a metrics file, e.g. `loss` or `dev_score`.
pub fn read_series(path: &Path, key: &str) -> Result<Vec<(f64, f64)>, TrainError> {
    let text = std::fs::read_to_string(path).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|v| Some((v.get("step")?.as_f64()?, v.get(key)?.as_f64()?)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(step: u64) -> StepRecord {
        StepRecord {
            step,
            epoch: step as f64 / 10.0,
            loss: 1.0 / (step as f64 + 1.0),
            lr: 1e-3,
            grad_norm: 0.5,
            pairs_per_s: 100.0,
            peak_rss_mib: None,
            loss_scale: None,
            skipped: false,
        }
    }

    #[test]
    fn resume_drops_lines_after_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let mut log = MetricsLog::open(&path, None).unwrap();
        for s in 1..=6 {
            log.log_step(&step(s)).unwrap();
        }
        log.log_eval(&EvalRecord {
            step: 6,
            epoch: 0.6,
            dev_score: 0.7,
            metrics: vec![("sel/rougeL".into(), 0.7)],
        })
        .unwrap();
        drop(log);
        let mut log = MetricsLog::open(&path, Some(4)).unwrap();
        log.log_step(&step(5)).unwrap();
        drop(log);
        let steps: Vec<f64> = read_series(&path, "loss")
            .unwrap()
            .iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(steps, [1.0, 2.0, 3.0, 4.0, 5.0]);
        assert!(read_series(&path, "dev_score").unwrap().is_empty());
        let first: Value = serde_json::from_str(
            std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .next()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(first["step"], 1);
        let raw = std::fs::read_to_string(&path).unwrap();
        assert!(
            raw.starts_with("{\"step\":1,\"epoch\":0.1,\"loss\":0.5,\"lr\":0.001,"),
            "{raw}"
        );
    }

    #[test]
    fn eval_lines_carry_split_and_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.jsonl");
        let mut log = MetricsLog::open(&path, None).unwrap();
        log.log_eval(&EvalRecord {
            step: 3,
            epoch: 1.0,
            dev_score: 0.5,
            metrics: vec![("sel/bleu".into(), 12.0)],
        })
        .unwrap();
        let line: Value =
            serde_json::from_str(std::fs::read_to_string(&path).unwrap().trim()).unwrap();
        assert_eq!(line["split"], "dev");
        assert_eq!(line["sel/bleu"], 12.0);
        assert_eq!(read_series(&path, "dev_score").unwrap(), [(3.0, 0.5)]);
    }
}
