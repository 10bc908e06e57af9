//! The library half of `ranker encode`: on every fixture directory, encoding the fixture texts gives
//! transformers' ids and `last_hidden_state`, and batching does not change any output.

mod common;

use burn::tensor::TensorData;
use common::{cases, expected, fixtures, max_abs_diff, B, MODELS};
use ranker_models::encode::{encode_dir, EncodeInput, Encoder};
use ranker_models::LoadError;

#[test]
fn encode_matches_transformers_on_unpadded_batches() {
    let device = Default::default();
    for model in MODELS {
        let want = expected(model);
        let encoder = Encoder::<B>::load(&fixtures().join(model), &device).unwrap();
        for batch in cases(model).batches.iter().filter(|b| b.shape[0] == 1) {
            let input = EncodeInput {
                text: batch.texts[0].clone(),
                text_pair: batch.text_pairs.as_ref().map(|p| p[0].clone()),
            };
            let out = encoder.encode(&[input]).unwrap().remove(0);
            let ids: Vec<u32> = want[&format!("{}.input_ids", batch.name)]
                .to_vec::<i64>()
                .unwrap()
                .into_iter()
                .map(|v| v as u32)
                .collect();
            assert_eq!(out.input_ids, ids, "{model} {}", batch.name);
            let hidden = out.last_hidden_state[0].len();
            let flat: Vec<f32> = out.last_hidden_state.concat();
            let got = TensorData::new(flat, [1, ids.len(), hidden]);
            let diff = max_abs_diff(&got, &want[&format!("{}.last_hidden_state", batch.name)]);
            assert!(diff <= 1e-4, "{model} {}: {diff}", batch.name);
        }
    }
}

#[test]
fn batching_does_not_change_outputs() {
    let device = Default::default();
    for model in [
        "deberta-v3-tiny",
        "deberta-v2-tiny",
        "roberta-tiny",
        "bert-tiny",
        "xlm-roberta-tiny",
        "t5-tiny",
    ] {
        let mut inputs: Vec<EncodeInput> = cases(model)
            .tokenizer
            .into_iter()
            .map(|c| EncodeInput {
                text: c.text,
                text_pair: c.text_pair,
            })
            .collect();
        inputs.push(EncodeInput {
            text: String::new(),
            text_pair: None,
        });
        let one_by_one = Encoder::<B>::load(&fixtures().join(model), &device)
            .unwrap()
            .with_max_batch_tokens(1)
            .encode(&inputs)
            .unwrap();
        let batched = encode_dir::<B>(&fixtures().join(model), &inputs, &device).unwrap();
        assert_eq!(one_by_one.len(), inputs.len());
        for (i, (a, b)) in one_by_one.iter().zip(&batched).enumerate() {
            assert_eq!(a.input_ids, b.input_ids, "{model} input {i}");
            for (ra, rb) in a.last_hidden_state.iter().zip(&b.last_hidden_state) {
                // T5's fixture states are larger (initializer_factor 4), so its float noise is too.
                let tolerance = if model.contains("t5") { 3e-5 } else { 1e-5 };
                for (x, y) in ra.iter().zip(rb) {
                    assert!((x - y).abs() <= tolerance, "{model} input {i}: {x} vs {y}");
                }
            }
        }
    }
}

#[test]
fn too_long_input_names_its_index() {
    let device = Default::default();
    let encoder = Encoder::<B>::load(&fixtures().join("bert-tiny"), &device).unwrap();
    let long = "fox ".repeat(300);
    let inputs = [
        EncodeInput {
            text: "fine".into(),
            text_pair: None,
        },
        EncodeInput {
            text: long,
            text_pair: None,
        },
    ];
    match encoder.encode(&inputs).unwrap_err() {
        LoadError::SequenceTooLong { index, max, .. } => {
            assert_eq!(index, 1);
            assert_eq!(max, 128);
        }
        other => panic!("{other}"),
    }
}

/// The comparison the parity tests rely on fails on the defects it guards against.
#[test]
fn the_difference_helper_fails_on_nan_and_on_length_mismatch() {
    use common::max_abs_diff_f32;
    assert_eq!(max_abs_diff_f32(&[1.0, 2.0], &[1.5, 2.0]), 0.5);
    assert!(max_abs_diff_f32(&[1.0, f32::NAN], &[1.0, 2.0]).is_nan());
    assert!(max_abs_diff_f32(&[f32::NAN, 2.0], &[1.0, 9.0]).is_nan());
    let mismatch = std::panic::catch_unwind(|| max_abs_diff_f32(&[1.0], &[1.0, 2.0]));
    assert!(mismatch.is_err());
}
