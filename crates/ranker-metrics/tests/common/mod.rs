//! Loading the reference fixtures written by `tests/fixtures/make_metric_fixtures.py`.

#![allow(dead_code)] // each test binary uses a different part

use std::path::PathBuf;

use serde::de::DeserializeOwned;

/// Every score must agree with the Python packages this closely.
pub const TOLERANCE: f64 = 1e-9;

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/metrics")
        .join(name)
}

pub fn read_json<T: DeserializeOwned>(name: &str) -> T {
    let path = fixture_path(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

pub fn read_jsonl<T: DeserializeOwned>(name: &str) -> Vec<T> {
    let path = fixture_path(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("parsing {}:{}: {e}", path.display(), i + 1))
        })
        .collect()
}

/// `Some(x)` is `x`; `None` is the fixture's encoding of NaN (JSON has no NaN).
pub fn nan_or(x: Option<f64>) -> f64 {
    x.unwrap_or(f64::NAN)
}

/// Whether `got` equals `want` within [`TOLERANCE`], NaN matching NaN only.
pub fn close(got: f64, want: f64) -> bool {
    if want.is_nan() {
        got.is_nan()
    } else {
        (got - want).abs() <= TOLERANCE
    }
}
