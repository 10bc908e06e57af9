//! The run directory layout (listed in the repository README, "Two commands").

use std::path::{Path, PathBuf};

/// Paths inside `run.output_dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// The layout under `root` (nothing is created).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The run directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The fully resolved config.
    pub fn config(&self) -> PathBuf {
        self.root.join("config.yaml")
    }

    /// Per-rank log files.
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// The log file of `rank`.
    pub fn rank_log(&self, rank: usize) -> PathBuf {
        self.logs().join(format!("train.rank{rank}.log"))
    }

    /// One JSON line per logged step and per evaluation.
    pub fn metrics(&self) -> PathBuf {
        self.root.join("metrics.jsonl")
    }

    /// Training-curve plot of the loss.
    pub fn loss_plot(&self) -> PathBuf {
        self.root.join("loss.png")
    }

    /// Training-curve plot of the dev score.
    pub fn dev_score_plot(&self) -> PathBuf {
        self.root.join("dev_score.png")
    }

    /// Where step checkpoints live.
    pub fn checkpoints(&self) -> PathBuf {
        self.root.join("checkpoints")
    }

    /// Predictions and report of `ranker eval`.
    pub fn eval(&self) -> PathBuf {
        self.root.join("eval")
    }
}
