//! Helpers shared by the ranker and collation parity tests (fixtures from
//! `tests/fixtures/make_ranker_fixtures.py`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use ranker_models::BackboneConfig;
use serde_json::Value;

/// `tests/fixtures/rankers` at the repository root.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/rankers")
}

/// A fixture JSON file.
pub fn read_json(name: &str) -> Value {
    let path = fixtures().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Flattens nested JSON arrays of numbers.
pub fn floats(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(a) => a.iter().flat_map(floats).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap() as f32],
        other => panic!("not a number array: {other}"),
    }
}

/// Flattens nested JSON arrays of integers.
pub fn ints(v: &Value) -> Vec<u32> {
    match v {
        Value::Array(a) => a.iter().flat_map(ints).collect(),
        Value::Number(n) => vec![n.as_u64().unwrap() as u32],
        other => panic!("not an int array: {other}"),
    }
}

/// The shape of a nested JSON array.
pub fn shape(v: &Value) -> Vec<usize> {
    let mut dims = Vec::new();
    let mut cur = v;
    while let Value::Array(a) = cur {
        dims.push(a.len());
        match a.first() {
            Some(first) => cur = first,
            None => break,
        }
    }
    dims
}

/// `{"shape": [...], "values": [...]}` entries written by the fixture script.
pub fn entry(v: &Value) -> (Vec<usize>, Vec<f32>) {
    let shape = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    (shape, floats(&v["values"]))
}

/// Asserts `|got − expected| ≤ tol` element-wise.
pub fn assert_close(got: &[f32], expected: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}: length");
    let (worst, at) = got
        .iter()
        .zip(expected)
        .enumerate()
        .map(|(i, (g, e))| ((g - e).abs(), i))
        .fold((0.0f32, 0), |acc, x| if x.0 > acc.0 { x } else { acc });
    assert!(
        worst <= tol && got.iter().all(|g| g.is_finite()),
        "{what}: max |diff| {worst} at {at} (got {}, expected {})",
        got[at],
        expected[at]
    );
}

/// The fixture's backbone config (`base/config.json`) with every dropout set to 0, so that gradients taken under
/// autodiff (where burn's dropout is active) compare with torch's eval-mode gradients.
pub fn backbone_config_without_dropout() -> BackboneConfig {
    let path = fixtures().join("base/config.json");
    let mut json: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for (key, value) in json.as_object_mut().unwrap() {
        if key.contains("dropout") && value.is_number() {
            *value = 0.0.into();
        }
    }
    BackboneConfig::from_json(json, &path).unwrap()
}

/// Transposes a row-major `[rows, cols]` buffer.
pub fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}
