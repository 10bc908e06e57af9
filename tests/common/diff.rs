//! Checkpoint and vector comparisons that fail on NaN and on mismatched lengths or tensor names.
//! One file for every test suite of the workspace: `tests/common` declares it as a module, the crate
//! test helpers include it by `#[path]`.

use std::collections::HashMap;
use std::path::Path;

/// The weights of a checkpoint directory, by tensor name.
pub fn weights(checkpoint: &Path) -> HashMap<String, Vec<f32>> {
    ranker_models::read_safetensors(&checkpoint.join("model.safetensors"))
        .expect("model.safetensors")
        .into_iter()
        .map(|(k, v)| (k, v.convert::<f32>().into_vec::<f32>().unwrap()))
        .collect()
}

/// The largest `|a[i] − b[i]|`: NaN when either side holds a NaN (so `diff <= tol` fails), and a
/// panic when the lengths differ.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "compared vectors differ in length");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, |worst, d| {
            if worst.is_nan() || d.is_nan() {
                f32::NAN
            } else {
                worst.max(d)
            }
        })
}

/// The largest absolute difference between two checkpoints' weights, and where (NaN when a weight
/// is NaN; a panic when the tensor names or sizes differ).
pub fn max_weight_diff(a: &Path, b: &Path) -> (f32, String) {
    let (a, b) = (weights(a), weights(b));
    let mut names: Vec<&String> = a.keys().collect();
    names.sort();
    let mut other: Vec<&String> = b.keys().collect();
    other.sort();
    assert_eq!(names, other, "the checkpoints hold different tensors");
    let mut worst = (0f32, String::new());
    for name in names {
        let diff = max_abs_diff(&a[name], &b[name]);
        if diff.is_nan() {
            return (diff, name.clone());
        }
        if diff > worst.0 {
            worst = (diff, name.clone());
        }
    }
    worst
}
