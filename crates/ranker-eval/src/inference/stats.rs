//! Counters and timings of an inference run.

use std::time::Duration;

/// What an inference run cost.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct InferenceStats {
    /// Scored requests: pair rows for a pairwise scorer (one model forward row each), items for a listwise one.
    pub forwards: u64,
    /// Scorer calls.
    pub batches: u64,
    /// Time spent inside the scorer (preparing and scoring).
    pub scorer_time: Duration,
    /// Wall time of the whole run.
    pub wall_time: Duration,
}

impl InferenceStats {
    /// Adds `other`'s counters and times.
    pub fn add(&mut self, other: &InferenceStats) {
        self.forwards += other.forwards;
        self.batches += other.batches;
        self.scorer_time += other.scorer_time;
        self.wall_time += other.wall_time;
    }

    /// Forwards per second of wall time (0 when no time passed).
    pub fn forwards_per_second(&self) -> f64 {
        let seconds = self.wall_time.as_secs_f64();
        if seconds > 0.0 {
            self.forwards as f64 / seconds
        } else {
            0.0
        }
    }
}
