//! Helpers shared by the backbone integration tests: fixture paths and case files.

#![allow(dead_code)]

#[path = "../../../../tests/common/diff.rs"]
mod diff;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::backend::Flex;
use burn::tensor::{Int, Tensor, TensorData};
use ranker_models::{read_safetensors, Backbone, BackboneConfig, BackboneInput};
use serde::Deserialize;

// Each test binary uses its own subset of the helpers.
#[allow(unused_imports)]
pub use diff::max_abs_diff as max_abs_diff_f32;

pub type B = Flex;

/// `tests/fixtures/models` at the repository root.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/models")
}

/// Every tiny model directory made by `tests/fixtures/make_model_fixtures.py`.
pub const MODELS: &[&str] = &[
    "deberta-v3-tiny",
    "deberta-v2-tiny",
    "deberta-c2p-tiny",
    "deberta-p2c-tiny",
    "deberta-norel-tiny",
    "bert-tiny",
    "roberta-tiny",
    "xlm-roberta-tiny",
    "t5-tiny",
    "flan-t5-tiny",
];

#[derive(Debug, Deserialize)]
pub struct TokenizerCase {
    pub text: String,
    pub text_pair: Option<String>,
    pub ids: Vec<u32>,
    pub type_ids: Option<Vec<u32>>,
}

#[derive(Debug, Deserialize)]
pub struct Batch {
    pub name: String,
    pub shape: Vec<usize>,
    pub token_type_ids: bool,
    pub texts: Vec<String>,
    pub text_pairs: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
pub struct MarkerCases {
    pub markers: Vec<String>,
    pub len_before: usize,
    pub n_added: usize,
    pub marker_ids: Vec<u32>,
    pub len_after: usize,
    pub texts: Vec<String>,
    pub ids: Vec<Vec<u32>>,
}

#[derive(Debug, Deserialize)]
pub struct Cases {
    pub model: String,
    pub tokenizer: Vec<TokenizerCase>,
    pub batches: Vec<Batch>,
    pub marker_tokens: Option<MarkerCases>,
}

pub fn cases(model: &str) -> Cases {
    let path = fixtures().join(format!("{model}.cases.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn expected(model: &str) -> HashMap<String, TensorData> {
    read_safetensors(&fixtures().join(format!("{model}.expected.safetensors")))
        .unwrap()
        .into_iter()
        .collect()
}

/// The model input of one fixture batch.
pub fn batch_input(
    expected: &HashMap<String, TensorData>,
    batch: &str,
    device: &burn::tensor::Device<B>,
) -> BackboneInput<B> {
    let int = |key: &str| -> Tensor<B, 2, Int> {
        Tensor::from_data(expected[&format!("{batch}.{key}")].clone(), device)
    };
    let mut input = BackboneInput::new(int("input_ids"), int("attention_mask"));
    if expected.contains_key(&format!("{batch}.token_type_ids")) {
        input = input.token_type_ids(int("token_type_ids"));
    }
    input
}

/// Largest absolute difference between two float tensors' values (shapes must match).
pub fn max_abs_diff(a: &TensorData, b: &TensorData) -> f32 {
    assert_eq!(a.shape, b.shape);
    max_abs_diff_f32(&a.to_vec::<f32>().unwrap(), &b.to_vec::<f32>().unwrap())
}

/// `backbone`'s last hidden state on every fixture batch of `model`, compared with transformers'.
/// Returns the largest difference seen.
pub fn check_batches(backbone: &Backbone<B>, model: &str, tolerance: f32) -> f32 {
    let device = Default::default();
    let expected = expected(model);
    let mut worst = 0.0f32;
    for batch in cases(model).batches {
        let out = backbone
            .forward(batch_input(&expected, &batch.name, &device))
            .into_data();
        let want = &expected[&format!("{}.last_hidden_state", batch.name)];
        let diff = max_abs_diff(&out, want);
        assert!(
            diff <= tolerance,
            "{model} batch {}: max |ours − transformers| = {diff}",
            batch.name
        );
        worst = worst.max(diff);
    }
    worst
}

/// `config` with every dropout probability set to 0 (deterministic training-path tests).
pub fn without_dropout(config: BackboneConfig) -> BackboneConfig {
    match config {
        BackboneConfig::DebertaV2(mut c) => {
            c.hidden_dropout_prob = 0.0;
            c.attention_probs_dropout_prob = 0.0;
            BackboneConfig::DebertaV2(c)
        }
        BackboneConfig::Bert(mut c) => {
            c.hidden_dropout_prob = 0.0;
            c.attention_probs_dropout_prob = 0.0;
            BackboneConfig::Bert(c)
        }
        BackboneConfig::Roberta(mut c) => {
            c.hidden_dropout_prob = 0.0;
            c.attention_probs_dropout_prob = 0.0;
            BackboneConfig::Roberta(c)
        }
        BackboneConfig::XlmRoberta(mut c) => {
            c.hidden_dropout_prob = 0.0;
            c.attention_probs_dropout_prob = 0.0;
            BackboneConfig::XlmRoberta(c)
        }
        BackboneConfig::T5(mut c) => {
            c.dropout_rate = 0.0;
            BackboneConfig::T5(c)
        }
    }
}
