//! What the loop reports while it runs: the CLI draws a progress bar, tests and batch jobs get log lines.

use crate::metrics_log::{EvalRecord, StepRecord};

/// Receives progress events on every rank (the CLI shows them on rank 0 only).
pub trait TrainObserver {
    /// Training starts (or resumes) at `start_step` of `total_steps`.
    fn started(&mut self, start_step: u64, total_steps: u64) {
        let _ = (start_step, total_steps);
    }

    /// An optimiser step finished.
    fn step(&mut self, record: &StepRecord, total_steps: u64) {
        let _ = (record, total_steps);
    }

    /// A dev evaluation finished.
    fn evaluated(&mut self, record: &EvalRecord) {
        let _ = record;
    }

    /// Training ended (normally or on a checkpoint request).
    fn finished(&mut self) {}
}

/// Logs a line every `every` steps and after each evaluation.
#[derive(Debug, Clone)]
pub struct LogObserver {
    every: u64,
}

impl LogObserver {
    /// Logs every `every` steps (at least 1).
    pub fn new(every: u64) -> Self {
        Self {
            every: every.max(1),
        }
    }
}

impl TrainObserver for LogObserver {
    fn started(&mut self, start_step: u64, total_steps: u64) {
        if start_step > 0 {
            tracing::info!("resuming at step {start_step} of {total_steps}");
        } else {
            tracing::info!("training for {total_steps} steps");
        }
    }

    fn step(&mut self, r: &StepRecord, total_steps: u64) {
        if r.step.is_multiple_of(self.every) || r.step == total_steps {
            tracing::info!(
                "step {}/{total_steps} epoch {:.2} loss {:.4} lr {:.3e} grad_norm {:.3} {:.0} pairs/s",
                r.step,
                r.epoch,
                r.loss,
                r.lr,
                r.grad_norm,
                r.pairs_per_s
            );
        }
    }

    fn evaluated(&mut self, r: &EvalRecord) {
        tracing::info!("dev eval at step {}: dev_score {:.4}", r.step, r.dev_score);
    }
}
