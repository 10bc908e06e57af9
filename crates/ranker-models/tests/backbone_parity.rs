//! `last_hidden_state` of every tiny fixture model equals transformers' within 1e-4 (max abs diff) on
//! every fixture batch: single inputs, pairs, padded batches (padding positions included) and inputs
//! longer than the bucket midpoint, `max_relative_positions` and T5's `relative_attention_max_distance`.

mod common;

use burn::tensor::TensorData;
use common::{check_batches, fixtures, B};
use ranker_models::backbone::deberta_v2::make_log_bucket_position;
use ranker_models::backbone::t5::relative_position_bucket;
use ranker_models::{load_backbone, read_safetensors};

fn parity(model: &str) {
    let device = Default::default();
    let (backbone, _) = load_backbone::<B>(&fixtures().join(model), &device).unwrap();
    let worst = check_batches(&backbone, model, 1e-4);
    eprintln!("{model}: worst {worst:e}");
}

#[test]
fn deberta_v3_tiny() {
    parity("deberta-v3-tiny");
}

#[test]
fn deberta_v2_tiny() {
    parity("deberta-v2-tiny");
}

#[test]
fn deberta_c2p_tiny() {
    parity("deberta-c2p-tiny");
}

#[test]
fn deberta_p2c_tiny() {
    parity("deberta-p2c-tiny");
}

#[test]
fn deberta_norel_tiny() {
    parity("deberta-norel-tiny");
}

#[test]
fn bert_tiny() {
    parity("bert-tiny");
}

#[test]
fn roberta_tiny() {
    parity("roberta-tiny");
}

#[test]
fn xlm_roberta_tiny() {
    parity("xlm-roberta-tiny");
}

/// T5 v1.0 (relu), saved as `T5EncoderModel` (safetensors).
#[test]
fn t5_tiny() {
    parity("t5-tiny");
}

/// T5 v1.1 / flan-t5 (gated-gelu), saved as the full `T5ForConditionalGeneration` (`.bin` with the
/// decoder, `lm_head` and the tied `encoder.embed_tokens.weight`).
#[test]
fn flan_t5_tiny() {
    parity("flan-t5-tiny");
}

/// Our port of T5's bidirectional `_relative_position_bucket` equals transformers' on distances
/// −700..=700.
#[test]
fn t5_buckets_match_transformers() {
    let tables = read_safetensors(&fixtures().join("t5_buckets.safetensors")).unwrap();
    let get = |name: &str| -> Vec<i64> {
        let data: &TensorData = &tables.iter().find(|(n, _)| n == name).unwrap().1;
        data.to_vec::<i64>().unwrap()
    };
    let rel = get("relative_positions");
    for (buckets, max) in [(32, 128), (16, 20), (8, 6), (64, 256), (32, 1000)] {
        let want = get(&format!("b{buckets}_m{max}"));
        for (d, w) in rel.iter().zip(&want) {
            assert_eq!(
                relative_position_bucket(*d, buckets, max),
                *w,
                "distance {d}, buckets {buckets}, max distance {max}"
            );
        }
    }
}

/// Our f32 port of `make_log_bucket_position` equals transformers' on distances −700..=700.
#[test]
fn log_buckets_match_transformers() {
    let tables = read_safetensors(&fixtures().join("log_buckets.safetensors")).unwrap();
    let get = |name: &str| -> Vec<i64> {
        let data: &TensorData = &tables.iter().find(|(n, _)| n == name).unwrap().1;
        data.to_vec::<i64>().unwrap()
    };
    let rel = get("relative_positions");
    for (bucket, max) in [(256, 512), (16, 64), (8, 20), (32, 1024)] {
        let want = get(&format!("b{bucket}_m{max}"));
        for (d, w) in rel.iter().zip(&want) {
            assert_eq!(
                make_log_bucket_position(*d, bucket, max),
                *w,
                "distance {d}, buckets {bucket}, max {max}"
            );
        }
    }
}
