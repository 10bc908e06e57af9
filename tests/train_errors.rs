//! Bad input to `ranker train` fails before any work starts, with one line naming the file, key or
//! checkpoint.

mod common;

use std::path::Path;
use std::process::Command;

fn train(repo_relative_config: &str, sets: &[String]) -> (bool, String) {
    let mut cmd = Command::new(common::bin("ranker"));
    cmd.current_dir(common::repo())
        .env("RANKER_LOG", "error")
        .args(["train", repo_relative_config]);
    for kv in sets {
        cmd.args(["--set", kv]);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    )
}

fn base_sets(dir: &Path, train: &Path) -> Vec<String> {
    vec![
        format!("data.train={}", train.display()),
        "data.dev=null".into(),
        "data.test=null".into(),
        "train.max_steps=1".into(),
        format!("run.output_dir={}", dir.join("run").display()),
    ]
}

fn one_error_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    lines[0]
}

#[test]
fn unsupported_precision_fails_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let train_file = common::synth(tmp.path(), "train.jsonl", 8, 3, 1);
    let mut sets = base_sets(tmp.path(), &train_file);
    // The CPU build computes in fp32, bf16 and fp16 (a device without bf16 is refused the same way,
    // see ranker_train::precision); fp8 exists nowhere.
    sets.push("train.precision=fp8".into());
    let (ok, err) = train("configs/quickstart.yaml", &sets);
    assert!(!ok);
    let line = one_error_line(&err);
    assert!(
        line.contains("train.precision") && line.contains("fp8"),
        "{line}"
    );
    assert!(!tmp.path().join("run/checkpoints").exists());
}

#[test]
fn missing_data_file_and_bad_keys_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope.jsonl");
    let (ok, err) = train("configs/quickstart.yaml", &base_sets(tmp.path(), &missing));
    assert!(!ok);
    assert!(one_error_line(&err).contains("nope.jsonl"), "{err}");

    let train_file = common::synth(tmp.path(), "train.jsonl", 8, 3, 1);
    let mut sets = base_sets(tmp.path(), &train_file);
    sets.push("train.learning_rate=0.1".into());
    let (ok, err) = train("configs/quickstart.yaml", &sets);
    assert!(!ok);
    let line = one_error_line(&err);
    assert!(
        line.contains("quickstart.yaml: train.learning_rate: unknown field"),
        "{line}"
    );

    let mut sets = base_sets(tmp.path(), &train_file);
    sets.push("data.metrics=[bartscore]".into());
    let (ok, err) = train("configs/quickstart.yaml", &sets);
    assert!(!ok);
    let line = one_error_line(&err);
    assert!(
        line.contains("train.jsonl") && line.contains("bartscore"),
        "{line}"
    );
}

#[test]
fn a_checkpoint_of_another_model_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let train_file = common::synth(tmp.path(), "train.jsonl", 8, 3, 1);
    let sets = base_sets(tmp.path(), &train_file);
    let (ok, err) = train("configs/quickstart.yaml", &sets);
    assert!(ok, "{err}");
    // Same run directory, another backbone: resuming must refuse the checkpoint.
    let mut other = sets.clone();
    other.push("model.backbone.path=tests/fixtures/models/bert-tiny".into());
    other.push("train.max_steps=2".into());
    let (ok, err) = train("configs/quickstart.yaml", &other);
    assert!(!ok);
    let line = one_error_line(&err);
    assert!(
        line.contains("checkpoints/step-1") && line.contains("another model"),
        "{line}"
    );

    // A ranker checkpoint of another type as model.checkpoint.
    let mut wrong_type = base_sets(&tmp.path().join("b"), &train_file);
    wrong_type.push(format!(
        "model.checkpoint={}",
        common::repo()
            .join("tests/fixtures/rankers/pairrm-tiny")
            .display()
    ));
    wrong_type.push("model.ranker=summareranker".into());
    wrong_type.push("model.loss=null".into());
    wrong_type.push("model.sampling={}".into());
    wrong_type.push("model.backbone.path=tests/fixtures/rankers/base".into());
    let (ok, err) = train("configs/quickstart.yaml", &wrong_type);
    assert!(!ok);
    assert!(one_error_line(&err).contains("pairrm-tiny"), "{err}");
}
