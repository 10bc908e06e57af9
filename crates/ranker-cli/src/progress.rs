//! Progress reporting for long work: a bar on a terminal, a plain line every few seconds otherwise
//! (so that logs of batch jobs stay readable).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

const PLAIN_EVERY: Duration = Duration::from_secs(10);

/// Counts finished units of work (items, pairs) and reports the rate.
pub(crate) struct Progress {
    what: &'static str,
    total: Option<u64>,
    started: Instant,
    bar: Option<ProgressBar>,
    last_plain: Mutex<Instant>,
}

impl Progress {
    /// `total` is the number of units when known up front.
    pub(crate) fn new(what: &'static str, total: Option<u64>, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = match total {
                Some(n) => ProgressBar::new(n),
                None => ProgressBar::new_spinner(),
            };
            let template = if total.is_some() {
                "{msg} [{bar:30}] {pos}/{len} ({per_sec}, ETA {eta})"
            } else {
                "{msg} {spinner} {pos} ({per_sec})"
            };
            bar.set_style(
                ProgressStyle::with_template(template)
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar.set_message(what);
            bar
        });
        let started = Instant::now();
        Self {
            what,
            total,
            started,
            bar,
            last_plain: Mutex::new(started),
        }
    }

    /// Sets the number of finished units (callable from any thread).
    pub(crate) fn set(&self, done: usize) {
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
            return;
        }
        let mut last = self.last_plain.lock().expect("progress lock");
        if last.elapsed() >= PLAIN_EVERY {
            *last = Instant::now();
            let total = self.total.map(|t| format!("/{t}")).unwrap_or_default();
            tracing::info!(
                "{}: {done}{total} ({:.0}/s)",
                self.what,
                done as f64 / self.started.elapsed().as_secs_f64()
            );
        }
    }

    /// Clears the bar and logs the final count and rate.
    pub(crate) fn finish(self, done: usize) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let secs = self.started.elapsed().as_secs_f64();
        tracing::info!(
            "{}: {done} in {secs:.1}s ({:.0}/s)",
            self.what,
            done as f64 / secs.max(1e-9)
        );
    }
}

/// Training progress on a terminal: a bar over optimiser steps with loss, throughput and ETA; dev
/// evaluations are printed above it.
pub(crate) struct TrainProgress {
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl TrainProgress {
    pub(crate) fn new(quiet: bool) -> Self {
        Self { bar: None, quiet }
    }
}

impl ranker_train::TrainObserver for TrainProgress {
    fn started(&mut self, start_step: u64, total_steps: u64) {
        if self.quiet {
            return;
        }
        let bar = ProgressBar::new(total_steps);
        bar.set_style(
            ProgressStyle::with_template("train [{bar:30}] {pos}/{len} steps  {msg}  ETA {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_position(start_step);
        bar.reset_eta();
        self.bar = Some(bar);
    }

    fn step(&mut self, r: &ranker_train::metrics_log::StepRecord, _total_steps: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(r.step);
            bar.set_message(format!(
                "epoch {:.2}  loss {:.4}  lr {:.2e}  {:.0} pairs/s",
                r.epoch, r.loss, r.lr, r.pairs_per_s
            ));
        }
    }

    fn evaluated(&mut self, r: &ranker_train::metrics_log::EvalRecord) {
        if let Some(bar) = &self.bar {
            bar.println(format!("step {}: dev_score {:.4}", r.step, r.dev_score));
        }
    }

    fn finished(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
