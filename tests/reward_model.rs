//! `ranker rank | compare | rank-with-ref | best-of-n` on a PairRM-layout checkpoint (the fixture made
//! by tests/fixtures/make_ranker_fixtures.py), over stdin/stdout as an RLHF pipeline uses them.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

fn ranker(args: &[&str], stdin: &str) -> (Vec<Value>, String, bool) {
    let fixtures = common::repo().join("tests/fixtures/rankers");
    let mut child = Command::new(common::bin("ranker"))
        .args(["-q"])
        .args(args)
        .arg("--model")
        .arg(fixtures.join("pairrm-tiny"))
        .arg("--base-model")
        .arg(fixtures.join("base"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

const ITEMS: &str = concat!(
    r#"{"instruction": "Answer briefly.\n", "input": "What is the capital of France?", "candidates": ["Paris.", "Lyon is big.", "I do not know."]}"#,
    "\n",
    r#"{"input": "Say hi", "candidates": ["hi", "hello there", "bye"], "id": "x7"}"#,
    "\n"
);

#[test]
fn rank_gives_scores_and_competition_ranks_per_line() {
    let (lines, err, ok) = ranker(&["rank"], ITEMS);
    assert!(ok, "{err}");
    assert_eq!(lines.len(), 2);
    for line in &lines {
        let scores: Vec<f64> = serde_json::from_value(line["scores"].clone()).unwrap();
        let ranks: Vec<u32> = serde_json::from_value(line["ranks"].clone()).unwrap();
        assert_eq!(scores.len(), 3);
        // max_logits scores of a full matrix sum to zero (each M_ij − M_ji counted with both signs)
        assert!(scores.iter().sum::<f64>().abs() < 1e-9, "{scores:?}");
        for (i, s) in scores.iter().enumerate() {
            let better = scores.iter().filter(|&&t| t > *s).count() as u32;
            assert_eq!(ranks[i], better + 1);
        }
    }
}

#[test]
fn compare_is_the_two_candidate_rank_difference() {
    let (ranked, err, ok) = ranker(
        &["rank"],
        r#"{"input": "Say hi", "candidates": ["hi", "bye"]}"#,
    );
    assert!(ok, "{err}");
    let (compared, err, ok) = ranker(
        &["compare"],
        r#"{"input": "Say hi", "candidate_a": "hi", "candidate_b": "bye"}"#,
    );
    assert!(ok, "{err}");
    let s: Vec<f64> = serde_json::from_value(ranked[0]["scores"].clone()).unwrap();
    let logit = compared[0]["logit"].as_f64().unwrap();
    // n = 2: s_A = (M_AB − M_BA)/2 = −s_B, and compare gives M_AB − M_BA.
    assert!((logit - (s[0] - s[1])).abs() < 1e-6, "{logit} vs {s:?}");
    assert_eq!(compared[0]["a_better"], logit > 0.0);
}

#[test]
fn best_of_n_and_rank_with_ref_stream_one_line_per_input() {
    let (best, err, ok) = ranker(&["best-of-n", "--return-all"], ITEMS);
    assert!(ok, "{err}");
    assert_eq!(best.len(), 2);
    let order: Vec<u32> = serde_json::from_value(best[0]["order"].clone()).unwrap();
    assert_eq!(order[0], best[0]["best"].as_u64().unwrap() as u32);
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(sorted, [0, 1, 2]);

    let (rewards, err, ok) = ranker(&["rank-with-ref", "--ref-mode", "shortest"], ITEMS);
    assert!(ok, "{err}");
    assert_eq!(rewards.len(), 2);
}

#[test]
fn a_bad_line_is_named() {
    let (_, err, ok) = ranker(
        &["rank"],
        "{\"input\": \"a\", \"candidates\": [\"x\", \"y\"]}\n{\"input\": 3}\n",
    );
    assert!(!ok);
    assert!(err.contains("<stdin>:2:"), "{err}");
    let (_, err, ok) = ranker(
        &["rank"],
        "{\"input\": \"a\", \"candidates\": [\"only one\"]}\n",
    );
    assert!(!ok);
    assert!(
        err.contains("item 0") && err.contains("at least 2"),
        "{err}"
    );
}
