//! T5 and XLM-RoBERTa through the `ranker` binary as users run them: `ranker encode` on both backbones (each
//! tokenizer's special-token layout and the hidden width; parity with transformers is `tests/encode.rs`), and
//! `configs/t5-quickstart.yaml` through `ranker train` and `ranker eval` on a few steps of synthetic data.

mod common;

use std::process::Command;

use serde_json::{json, Value};

fn ids(output: &Value) -> Vec<u32> {
    serde_json::from_value(output["input_ids"].clone()).unwrap()
}

/// Checks one vector of `width` finite values per token; returns the ids.
fn check_hidden(output: &Value, width: usize) -> Vec<u32> {
    let ids = ids(output);
    let hidden: Vec<Vec<f32>> =
        serde_json::from_value(output["last_hidden_state"].clone()).unwrap();
    assert_eq!(hidden.len(), ids.len(), "one vector per token");
    assert!(hidden
        .iter()
        .all(|v| v.len() == width && v.iter().all(|x| x.is_finite())));
    ids
}

#[test]
fn encode_runs_on_t5_and_xlm_roberta() {
    let models = common::repo().join("tests/fixtures/models");
    let lines = [
        json!({"text": "The cat sat on the mat."}),
        json!({"text": "Is it?", "text_pair": "Yes, it is. ünïcödé"}),
    ];

    // T5: no start token; every sequence ends with `</s>` (id 1), a pair is `a </s> b </s>`.
    let t5 = common::ranker_encode(&models.join("t5-tiny"), &lines, &[]);
    let single = check_hidden(&t5[0], 32);
    assert_ne!(single[0], 1);
    assert_eq!(single.last(), Some(&1));
    let pair = check_hidden(&t5[1], 32);
    assert_eq!(pair.iter().filter(|&&id| id == 1).count(), 2, "{pair:?}");

    // XLM-RoBERTa: `<s> a </s>` (0 … 2), a pair is `<s> a </s></s> b </s>`.
    let xlmr = common::ranker_encode(&models.join("xlm-roberta-tiny"), &lines, &[]);
    let single = check_hidden(&xlmr[0], 32);
    assert_eq!((single[0], single.last()), (0, Some(&2)));
    let pair = check_hidden(&xlmr[1], 32);
    assert_eq!(pair[0], 0);
    assert_eq!(pair.iter().filter(|&&id| id == 2).count(), 3, "{pair:?}");
}

#[test]
fn t5_quickstart_trains_and_evaluates_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let train = common::synth(tmp.path(), "train.jsonl", 32, 4, 1);
    let test = common::synth(tmp.path(), "test.jsonl", 5, 4, 3);
    let run = tmp.path().join("run");
    let ranker = |task: &str, extra: &[String]| {
        let mut cmd = Command::new(common::bin("ranker"));
        cmd.current_dir(common::repo())
            .env("RANKER_LOG", "warn")
            .args([task, "configs/t5-quickstart.yaml"])
            .args(extra);
        for kv in [
            format!("data.train={}", train.display()),
            "data.dev=null".into(),
            format!("data.test={}", test.display()),
            "train.max_steps=4".into(),
            format!("run.output_dir={}", run.display()),
        ] {
            cmd.args(["--set", &kv]);
        }
        common::run_ok(&mut cmd);
    };

    ranker("train", &[]);
    let losses = common::step_losses(&run);
    assert_eq!(losses.last().map(|l| l.0), Some(4), "{losses:?}");
    assert!(losses.iter().all(|(_, l)| l.is_finite()), "{losses:?}");
    let checkpoint = run.join("checkpoints/step-4");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(checkpoint.join("config.json")).unwrap())
            .unwrap();
    assert_eq!(saved["model_type"], "t5");

    std::fs::remove_dir_all(run.join("eval")).ok();
    ranker(
        "eval",
        &["--checkpoint".into(), checkpoint.display().to_string()],
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("eval/report.json")).unwrap())
            .unwrap();
    assert_eq!(report["n_examples"], 5);
    let sel = report["sel"]["rougeL"].as_f64().unwrap();
    assert!(
        sel <= report["oracle"]["rougeL"].as_f64().unwrap() + 1e-12,
        "{report}"
    );

    // The trained checkpoint's backbone encodes too: T5's hidden width, its vocabulary plus the four markers.
    let out = common::ranker_encode(&checkpoint, &[json!({"text": "apple river stone"})], &[]);
    check_hidden(&out[0], 64);
}
