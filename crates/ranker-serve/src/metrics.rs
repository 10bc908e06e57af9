//! Counters and histograms for `GET /metrics`, in the Prometheus text exposition format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

const LATENCY_BUCKETS_S: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
const BATCH_PAIRS_BUCKETS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 1024.0];
const BATCH_REQUESTS_BUCKETS: [f64; 8] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0];

#[derive(Debug)]
struct Histogram {
    bounds: &'static [f64],
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: vec![0; bounds.len()],
            sum: 0.0,
            count: 0,
        }
    }

    fn observe(&mut self, value: f64) {
        for (bound, count) in self.bounds.iter().zip(&mut self.counts) {
            if value <= *bound {
                *count += 1;
            }
        }
        self.sum += value;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum {}", self.sum);
        let _ = writeln!(out, "{name}_count {}", self.count);
    }
}

#[derive(Debug)]
struct Inner {
    requests: BTreeMap<&'static str, u64>,
    errors: BTreeMap<(&'static str, u16), u64>,
    latency: Histogram,
    batch_pairs: Histogram,
    batch_requests: Histogram,
}

/// The server's metrics; cheap to update from many tasks.
#[derive(Debug)]
pub struct Metrics {
    inner: Mutex<Inner>,
    queued: AtomicUsize,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner {
                requests: BTreeMap::new(),
                errors: BTreeMap::new(),
                latency: Histogram::new(&LATENCY_BUCKETS_S),
                batch_pairs: Histogram::new(&BATCH_PAIRS_BUCKETS),
                batch_requests: Histogram::new(&BATCH_REQUESTS_BUCKETS),
            }),
            queued: AtomicUsize::new(0),
        }
    }
}

impl Metrics {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain counters behind: still valid to read and update.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One answered request: its endpoint, status and time from arrival to answer.
    pub fn request(&self, endpoint: &'static str, status: u16, elapsed: Duration) {
        let mut inner = self.inner();
        *inner.requests.entry(endpoint).or_default() += 1;
        if status >= 400 {
            *inner.errors.entry((endpoint, status)).or_default() += 1;
        }
        inner.latency.observe(elapsed.as_secs_f64());
    }

    /// One model batch: its comparisons (rows for a listwise ranker) and how many requests shared it.
    pub fn batch(&self, pairs: usize, requests: usize) {
        let mut inner = self.inner();
        inner.batch_pairs.observe(pairs as f64);
        inner.batch_requests.observe(requests as f64);
    }

    /// Requests waiting for the model.
    pub fn queued(&self) -> &AtomicUsize {
        &self.queued
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let inner = self.inner();
        let mut out = String::new();
        out.push_str("# HELP ranker_requests_total Requests answered, by endpoint.\n");
        out.push_str("# TYPE ranker_requests_total counter\n");
        for (endpoint, n) in &inner.requests {
            let _ = writeln!(out, "ranker_requests_total{{endpoint=\"{endpoint}\"}} {n}");
        }
        out.push_str("# HELP ranker_errors_total Requests answered with an error status, by endpoint and status.\n");
        out.push_str("# TYPE ranker_errors_total counter\n");
        for ((endpoint, status), n) in &inner.errors {
            let _ = writeln!(
                out,
                "ranker_errors_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {n}"
            );
        }
        inner.latency.render(
            &mut out,
            "ranker_request_duration_seconds",
            "Time from a request's arrival to its answer.",
        );
        inner.batch_pairs.render(
            &mut out,
            "ranker_batch_pairs",
            "Comparisons (rows for a listwise ranker) per model batch.",
        );
        inner.batch_requests.render(
            &mut out,
            "ranker_batch_requests",
            "Requests sharing one model batch.",
        );
        out.push_str("# HELP ranker_queue_depth Requests waiting for the model.\n");
        out.push_str("# TYPE ranker_queue_depth gauge\n");
        let _ = writeln!(
            out,
            "ranker_queue_depth {}",
            self.queued.load(Ordering::Relaxed)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.request("/rank", 200, Duration::from_millis(3));
        m.request("/rank", 400, Duration::from_millis(30));
        m.batch(6, 2);
        let text = m.render();
        assert!(
            text.contains("ranker_requests_total{endpoint=\"/rank\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("ranker_errors_total{endpoint=\"/rank\",status=\"400\"} 1\n"));
        assert!(text.contains("ranker_request_duration_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("ranker_request_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("ranker_batch_pairs_bucket{le=\"8\"} 1\n"));
        assert!(text.contains("ranker_batch_requests_sum 2\n"));
    }
}
