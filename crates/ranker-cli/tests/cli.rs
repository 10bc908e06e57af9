//! The `ranker` binary run as a user runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

fn ranker() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ranker"));
    cmd.env("RANKER_LOG", "warn");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("ranker runs")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn score_matches_rouge_score_and_sacrebleu_on_every_fixture_pair() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixtures().join("metrics/text_pairs.jsonl")).unwrap();
    let cases: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let input = dir.path().join("pairs.jsonl");
    let lines: Vec<String> = cases
        .iter()
        .map(|c| json!({"prediction": c["prediction"], "reference": c["references"]}).to_string())
        .collect();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let output = dir.path().join("scores.jsonl");
    let out = run(ranker()
        .arg("score")
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output));
    assert!(out.status.success(), "{}", stderr(&out));
    let scored: Vec<Value> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(scored.len(), cases.len());
    assert!(cases.len() >= 300);
    for (case, got) in cases.iter().zip(&scored) {
        for metric in ["rouge1", "rouge2", "rougeL", "rougeLsum"] {
            let want = case[metric].as_f64().unwrap();
            let have = got[metric].as_f64().unwrap();
            assert!(
                (want - have).abs() <= 1e-9,
                "case {} {metric}: {have} vs {want}",
                case["id"]
            );
        }
        let want = case["bleu"]["score"].as_f64().unwrap();
        let have = got["bleu"].as_f64().unwrap();
        assert!(
            (want - have).abs() <= 1e-9,
            "case {} bleu: {have} vs {want}",
            case["id"]
        );
    }
}

#[test]
fn score_reads_stdin_and_keeps_only_requested_metrics() {
    let mut child = ranker()
        .args(["score", "--metrics", "bleu,rouge1", "--input", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"prediction\": \"a b c d\", \"reference\": \"a b c d\"}\n\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        line.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["bleu", "rouge1"]
    );
    assert_eq!(line["rouge1"], 1.0);
}

#[test]
fn score_bad_line_names_file_and_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("pairs.jsonl");
    std::fs::write(
        &input,
        "{\"prediction\": \"a\", \"reference\": \"a\"}\n{\"prediction\": \"a\"}\n",
    )
    .unwrap();
    let output = dir.path().join("scores.jsonl");
    let out = run(ranker()
        .arg("score")
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("pairs.jsonl:2: missing field `reference`"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only the input remains"
    );

    let out = run(ranker().args(["score", "--metrics", "rouge9", "--input", "-"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--metrics"), "{}", stderr(&out));
}

#[test]
fn synth_is_deterministic_and_stats_and_rescore_work() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.json");
    for path in [&a, &b] {
        let out = run(ranker()
            .args([
                "data",
                "synth",
                "--items",
                "40",
                "--candidates",
                "5",
                "--output",
            ])
            .arg(path));
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let items_a: Vec<Value> = std::fs::read_to_string(&a)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let items_b: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&b).unwrap()).unwrap();
    assert_eq!(items_a, items_b, "same seed, same items in either format");
    assert_eq!(items_a.len(), 40);

    let out = run(ranker().args(["data", "stats", "--json"]).arg(&a));
    assert!(out.status.success(), "{}", stderr(&out));
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["n_examples"], 40);
    assert_eq!(stats["by_position"].as_array().unwrap().len(), 5);

    let rescored = dir.path().join("rescored.jsonl");
    let out = run(ranker()
        .args(["data", "score", "--metrics", "rougeL,bleu", "--input"])
        .arg(&a)
        .arg("--output")
        .arg(&rescored));
    assert!(out.status.success(), "{}", stderr(&out));
    let again: Vec<Value> = std::fs::read_to_string(&rescored)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(again, items_a, "synthetic scores are our metrics' scores");
}

#[test]
fn stats_on_bad_data_is_one_line_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    std::fs::write(
        &path,
        "{\"id\": \"a\", \"input\": \"x\", \"output\": \"y\", \"candidates\": [{\"model\": \"m\", \"decoding_method\": \"d\", \"text\": \"t\", \"scores\": {\"bleu\": 1}}]}\n{\"id\": \"b\", \"input\": \"x\", \"output\": \"y\", \"candidates\": []}\n",
    )
    .unwrap();
    let out = run(ranker().args(["data", "stats"]).arg(&path));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("bad.jsonl:2"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
