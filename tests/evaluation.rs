//! `ranker eval` as users run it: sharded over `launch` workers with the same report as one worker,
//! and on another dataset than the checkpoint was trained on.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn train_tiny(dir: &Path, train: &Path) -> std::path::PathBuf {
    let run = dir.join("run");
    let mut cmd = Command::new(common::bin("ranker"));
    cmd.current_dir(common::repo())
        .env("RANKER_LOG", "warn")
        .args(["train", "configs/quickstart.yaml"]);
    for kv in [
        format!("data.train={}", train.display()),
        "data.dev=null".into(),
        "data.test=null".into(),
        "train.max_steps=3".into(),
        format!("run.output_dir={}", run.display()),
    ] {
        cmd.args(["--set", &kv]);
    }
    common::run_ok(&mut cmd);
    run.join("checkpoints/step-3")
}

fn eval_config(dir: &Path, test: &Path, checkpoint: &Path, metrics: &str) -> std::path::PathBuf {
    let yaml = format!(
        "task: eval\nrun: {{output_dir: {out}, seed: 5}}\ndata: {{test: {test}, metrics: {metrics}}}\n\
         model: {{backbone: {{path: {model}}}, source_max_len: 64, candidate_max_len: 64}}\n\
         eval: {{mode: full, batch_size: 16, checkpoint: {ckpt}}}\ndist: {{backend: tcp}}\n",
        out = dir.display(),
        test = test.display(),
        model = common::repo().join("configs/models/deberta-v3-tiny").display(),
        ckpt = checkpoint.display(),
    );
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("eval.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

fn report(dir: &Path) -> Value {
    let mut r: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("eval/report.json")).unwrap())
            .unwrap();
    r.as_object_mut().unwrap().remove("timings");
    r
}

#[test]
fn sharded_eval_through_launch_matches_one_worker() {
    let tmp = tempfile::tempdir().unwrap();
    let train = common::synth(tmp.path(), "train.jsonl", 16, 5, 1);
    let test = common::synth(tmp.path(), "test.jsonl", 7, 5, 9);
    let checkpoint = train_tiny(tmp.path(), &train);
    let one = eval_config(&tmp.path().join("one"), &test, &checkpoint, "[rougeL]");
    let three = eval_config(&tmp.path().join("three"), &test, &checkpoint, "[rougeL]");
    common::run_ok(common::launch().args(["--nproc", "1"]).arg(&one));
    common::run_ok(common::launch().args(["--nproc", "3"]).arg(&three));
    let (a, b) = (
        report(&tmp.path().join("one")),
        report(&tmp.path().join("three")),
    );
    assert_eq!(a["sel"], b["sel"]);
    assert_eq!(a["n_examples"], 7);
    let preds = |d: &str| {
        std::fs::read_to_string(tmp.path().join(d).join("eval/predictions.jsonl")).unwrap()
    };
    let (pa, pb) = (preds("one"), preds("three"));
    let ranks = |text: &str| -> Vec<Value> {
        text.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["ranks"].clone())
            .collect()
    };
    assert_eq!(
        ranks(&pa),
        ranks(&pb),
        "identical ranks whatever the world size"
    );
}

#[test]
fn a_checkpoint_evaluates_on_another_dataset_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let train = common::synth(tmp.path(), "train.jsonl", 16, 5, 1);
    let other = common::synth(tmp.path(), "other.jsonl", 5, 4, 77);
    let checkpoint = train_tiny(tmp.path(), &train);
    let cfg = eval_config(&tmp.path().join("x"), &other, &checkpoint, "[bleu, rouge1]");
    let out = Command::new(common::bin("ranker"))
        .env("RANKER_LOG", "warn")
        .args(["eval"])
        .arg(&cfg)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("cross-dataset evaluation"), "{stderr}");
    let r = report(&tmp.path().join("x"));
    assert_eq!(r["n_examples"], 5, "{r}");

    // The report's numbers recomputed from the data file and the predictions, with bleu scaled to 0–1 as the
    // loader does: `sel` is the mean score of the selected candidates, `top_beam` that of candidate 0,
    // `oracle` that of the candidate with the best mean over both metrics.
    const METRICS: [(&str, f64); 2] = [("bleu", 0.01), ("rouge1", 1.0)];
    let items: Vec<Value> = std::fs::read_to_string(&other)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let predictions: Vec<Value> =
        std::fs::read_to_string(tmp.path().join("x/eval/predictions.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    assert_eq!(predictions.len(), items.len());
    let first_argmax = |values: &[f64]| {
        let best = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        values.iter().position(|&v| v == best).unwrap()
    };
    let mut expected = [[0.0f64; 2]; 3]; // sel, top_beam, oracle × metric
    for (item, prediction) in items.iter().zip(&predictions) {
        assert_eq!(prediction["id"], item["id"]);
        // [candidate][metric], weighted.
        let scores: Vec<Vec<f64>> = item["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                METRICS
                    .iter()
                    .map(|(m, w)| c["scores"][m].as_f64().unwrap() * w)
                    .collect()
            })
            .collect();
        assert_eq!(scores.len(), 4);
        let ranker_scores: Vec<f64> = prediction["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let selected = prediction["selected"].as_u64().unwrap() as usize;
        assert_eq!(
            first_argmax(&ranker_scores),
            selected,
            "the selection is the first top-scored candidate: {prediction}"
        );
        let means: Vec<f64> = scores
            .iter()
            .map(|row| row.iter().sum::<f64>() / 2.0)
            .collect();
        let oracle = first_argmax(&means);
        for (field, candidate) in expected.iter_mut().zip([selected, 0, oracle]) {
            for (sum, score) in field.iter_mut().zip(&scores[candidate]) {
                *sum += score / items.len() as f64;
            }
        }
    }
    for (field, values) in ["sel", "top_beam", "oracle"].iter().zip(expected) {
        for ((metric, _), want) in METRICS.iter().zip(values) {
            let got = r[field][metric].as_f64().unwrap();
            assert!(
                (got - want).abs() <= 1e-9,
                "{field}/{metric}: report {got}, recomputed {want}"
            );
        }
    }
}

/// `ranker eval --precision bf16 | fp16` (= `eval.precision`) scores with a 16-bit backbone: the
/// predicted scores are close to fp32's but not identical to them.
#[test]
fn eval_precision_flag_scores_in_16_bits() {
    let tmp = tempfile::tempdir().unwrap();
    let train = common::synth(tmp.path(), "train.jsonl", 16, 5, 1);
    let test = common::synth(tmp.path(), "test.jsonl", 4, 5, 9);
    let checkpoint = train_tiny(tmp.path(), &train);
    let scores = |precision: &str| -> Vec<f64> {
        let dir = tmp.path().join(precision);
        let cfg = eval_config(&dir, &test, &checkpoint, "[rougeL]");
        common::run_ok(
            Command::new(common::bin("ranker"))
                .env("RANKER_LOG", "warn")
                .args(["eval", "--precision", precision])
                .arg(&cfg),
        );
        let preds = std::fs::read_to_string(dir.join("eval/predictions.jsonl")).unwrap();
        preds
            .lines()
            .flat_map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                v["scores"]
                    .as_array()
                    .unwrap_or_else(|| panic!("no scores in {l}"))
                    .iter()
                    .map(|s| s.as_f64().unwrap())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let fp32 = scores("fp32");
    for precision in ["bf16", "fp16"] {
        let half = scores(precision);
        assert_eq!(half.len(), fp32.len());
        let worst = half
            .iter()
            .zip(&fp32)
            .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
            .fold(0.0f64, f64::max);
        assert!(worst > 0.0, "{precision}: identical to fp32");
        assert!(worst <= 1e-2, "{precision}: scores differ by {worst}");
    }
}
