//! `ranker encode` on every fixture model directory and on a trained ranker checkpoint: token ids
//! equal to the HF tokenizer's and `last_hidden_state` within 1e-4 of transformers
//! (`tests/fixtures/make_model_fixtures.py`).

mod common;

use std::process::Command;

use serde_json::{json, Value};

/// Every number of a JSON value, depth first.
fn numbers(v: &Value, out: &mut Vec<f64>) {
    match v {
        Value::Number(n) => out.push(n.as_f64().unwrap()),
        Value::Array(items) => items.iter().for_each(|i| numbers(i, out)),
        _ => {}
    }
}

/// `--precision bf16 | fp16`: the backbone computes in 16 bits (LayerNorm and softmax in f32) and the
/// hidden states stay close to fp32's, relative to their largest entry.
#[test]
fn encode_in_half_precision_stays_close_to_fp32() {
    let model = common::repo().join("tests/fixtures/models/deberta-v3-tiny");
    let lines = [
        json!({"text": "How many legs does a spider have?", "text_pair": "Eight."}),
        json!({"text": "A short one."}),
    ];
    let hidden = |extra: &[&str]| -> Vec<f64> {
        let mut out = Vec::new();
        for line in common::ranker_encode(&model, &lines, extra) {
            numbers(&line["last_hidden_state"], &mut out);
        }
        out
    };
    let fp32 = hidden(&[]);
    let scale = fp32.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (precision, tol) in [("bf16", 5e-2), ("fp16", 1e-2)] {
        let half = hidden(&["--precision", precision]);
        assert_eq!(half.len(), fp32.len());
        let worst = half
            .iter()
            .zip(&fp32)
            .map(|(a, b)| (a - b).abs() / scale)
            .fold(0.0f64, f64::max);
        assert!(worst <= tol, "{precision}: {worst}");
        assert!(worst > 0.0, "{precision}: identical to fp32");
    }
}

#[test]
fn encode_matches_transformers_on_every_fixture_model() {
    let models = common::repo().join("tests/fixtures/models");
    let mut checked = 0;
    for entry in std::fs::read_dir(&models).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let cases_path = models.join(format!("{name}.cases.json"));
        if !dir.is_dir() || !cases_path.is_file() {
            continue;
        }
        let cases: Value =
            serde_json::from_str(&std::fs::read_to_string(&cases_path).unwrap()).unwrap();
        let expected: std::collections::HashMap<String, Vec<f32>> =
            ranker_models::read_safetensors(&models.join(format!("{name}.expected.safetensors")))
                .unwrap()
                .into_iter()
                .map(|(k, v)| (k, v.convert::<f32>().into_vec::<f32>().unwrap()))
                .collect();
        for batch in cases["batches"].as_array().unwrap() {
            let bname = batch["name"].as_str().unwrap();
            let shape: Vec<usize> = serde_json::from_value(batch["shape"].clone()).unwrap();
            let texts = batch["texts"].as_array().unwrap();
            let pairs = batch["text_pairs"].as_array();
            let lines: Vec<Value> = texts
                .iter()
                .enumerate()
                .map(
                    |(i, t)| match pairs.and_then(|p| p.get(i)).filter(|p| !p.is_null()) {
                        Some(pair) => json!({"text": t, "text_pair": pair}),
                        None => json!({"text": t}),
                    },
                )
                .collect();
            let outputs = common::ranker_encode(&dir, &lines, &[]);
            let (rows, seq) = (shape[0], shape[1]);
            assert_eq!(
                outputs.len(),
                rows,
                "{name}/{bname}: one output line per input line"
            );
            let ids = &expected[&format!("{bname}.input_ids")];
            let mask = &expected[&format!("{bname}.attention_mask")];
            let hidden = &expected[&format!("{bname}.last_hidden_state")];
            let width = hidden.len() / (rows * seq);
            for (r, out) in outputs.iter().enumerate() {
                let got_ids: Vec<u32> = serde_json::from_value(out["input_ids"].clone()).unwrap();
                let len = mask[r * seq..(r + 1) * seq]
                    .iter()
                    .filter(|&&m| m > 0.0)
                    .count();
                let want_ids: Vec<u32> = ids[r * seq..r * seq + len]
                    .iter()
                    .map(|&v| v as u32)
                    .collect();
                assert_eq!(got_ids, want_ids, "{name}/{bname} row {r}: ids");
                let got: Vec<Vec<f32>> =
                    serde_json::from_value(out["last_hidden_state"].clone()).unwrap();
                assert_eq!(got.len(), len);
                for (p, vector) in got.iter().enumerate() {
                    let base = (r * seq + p) * width;
                    for (k, v) in vector.iter().enumerate() {
                        let want = hidden[base + k];
                        assert!(
                            (v - want).abs() <= 1e-4,
                            "{name}/{bname} row {r} pos {p} dim {k}: {v} vs {want}"
                        );
                    }
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 7 * 4, "only {checked} batches checked");
}

#[test]
fn encode_reads_the_backbone_of_a_ranker_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let train = common::synth(tmp.path(), "train.jsonl", 8, 3, 5);
    let run = tmp.path().join("run");
    let set = |kv: String| ["--set".to_string(), kv];
    let mut cmd = Command::new(common::bin("ranker"));
    cmd.current_dir(common::repo())
        .env("RANKER_LOG", "warn")
        .args(["train", "configs/quickstart.yaml"])
        .args(set(format!("data.train={}", train.display())))
        .args(set("data.dev=null".into()))
        .args(set("data.test=null".into()))
        .args(set("train.max_steps=1".into()))
        .args(set(format!("run.output_dir={}", run.display())));
    common::run_ok(&mut cmd);
    let checkpoint = run.join("checkpoints/step-1");
    let out = common::ranker_encode(&checkpoint, &[json!({"text": "apple river stone"})], &[]);
    assert_eq!(out.len(), 1, "one output line per input line");
    let hidden = out[0]["last_hidden_state"].as_array().unwrap();
    assert_eq!(
        hidden[0].as_array().unwrap().len(),
        64,
        "the tiny model's hidden size"
    );
}
