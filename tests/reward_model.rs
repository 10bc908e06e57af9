//! `ranker rank | compare | compare-conversations | rank-with-ref | best-of-n | worst-of-n` as an RLHF pipeline
//! runs them (JSONL on stdin, JSONL on stdout), checked against the values the real `llm-blender` package
//! (0.0.2) computes on the same checkpoint: tests/fixtures/reward/blender.json, written by
//! tests/fixtures/make_reward_fixtures.py — chat-template text, unicode, literal [SEP] / [CLS] / [MASK], empty
//! strings and stray `<|` included, so the text reaches the tokenizer exactly as the reference passes it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use ranker_models::collate::{PairCollator, PairTokenizer, RankText};
use serde_json::{json, Value};

const TOL: f64 = 2e-5;

fn fixtures() -> PathBuf {
    common::repo().join("tests/fixtures")
}

fn blender() -> Value {
    let text = std::fs::read_to_string(fixtures().join("reward/blender.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Runs `ranker ARGS --model MODEL …` with `stdin`; the output lines, stderr and success.
fn ranker_on(
    model: &Path,
    extra: &[&str],
    args: &[&str],
    stdin: &str,
) -> (Vec<Value>, String, bool) {
    let out = common::with_stdin(
        Command::new(common::bin("ranker"))
            .args(["-q"])
            .args(args)
            .arg("--model")
            .arg(model)
            .arg("--base-model")
            .arg(fixtures().join("rankers/base"))
            .args(extra),
        stdin,
    );
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

/// The PairRM-layout fixture checkpoint with the fixture's lengths (128 / 64).
fn ranker(args: &[&str], stdin: &str) -> (Vec<Value>, String, bool) {
    let model = fixtures().join("rankers/pairrm-tiny");
    ranker_on(
        &model,
        &["--source-max-len", "128", "--candidate-max-len", "64"],
        args,
        stdin,
    )
}

fn ok(args: &[&str], stdin: &str) -> Vec<Value> {
    let (lines, err, ok) = ranker(args, stdin);
    assert!(ok, "ranker {args:?} failed: {err}");
    lines
}

fn jsonl(lines: impl IntoIterator<Item = Value>) -> String {
    lines.into_iter().map(|v| format!("{v}\n")).collect()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn ints(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

fn assert_close(found: &[f64], expected: &[f64], what: &str) {
    assert_eq!(found.len(), expected.len(), "{what}: lengths");
    for (i, (f, e)) in found.iter().zip(expected).enumerate() {
        assert!(
            f.is_finite() && (f - e).abs() <= TOL,
            "{what}[{i}]: {f} vs reference {e} ({found:?} vs {expected:?})"
        );
    }
}

/// The fixture items as `ranker rank` lines.
fn rank_lines(cases: &[Value]) -> String {
    jsonl(cases.iter().map(|c| {
        json!({"instruction": c["instruction"], "input": c["input"], "candidates": c["candidates"]})
    }))
}

#[test]
fn collation_keeps_text_exactly_as_the_reference() {
    let expected = blender();
    let tokenizer = PairTokenizer::from_dir(&fixtures().join("rankers/pairrm-tiny")).unwrap();
    let collator = PairCollator::new(tokenizer, 128, 64).unwrap();
    for (i, case) in expected["items"].as_array().unwrap().iter().enumerate() {
        let source = format!(
            "{}{}",
            case["instruction"].as_str().unwrap(),
            case["input"].as_str().unwrap()
        );
        let candidates: Vec<&str> = case["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let collated = collator
            .collate(&[RankText {
                source: &source,
                candidates: candidates.clone(),
            }])
            .unwrap();
        let want = &case["collated"];
        let source_tokens: Vec<u64> = collated
            .source
            .row_tokens(0)
            .iter()
            .map(|&t| t.into())
            .collect();
        assert_eq!(
            source_tokens,
            ints(&want["source"]),
            "item {i} source {source:?}"
        );
        for (c, text) in candidates.iter().enumerate() {
            let tokens: Vec<u64> = collated
                .candidates
                .row_tokens(c)
                .iter()
                .map(|&t| t.into())
                .collect();
            assert_eq!(
                tokens,
                ints(&want["candidates"][c]),
                "item {i} candidate {c} {text:?}"
            );
        }
    }
}

#[test]
fn rank_matches_blender_rank() {
    let expected = blender();
    let cases = expected["items"].as_array().unwrap();
    let lines = ok(&["rank"], &rank_lines(cases));
    assert_eq!(lines.len(), cases.len());
    for (i, (line, case)) in lines.iter().zip(cases).enumerate() {
        assert_close(
            &floats(&line["scores"]),
            &floats(&case["scores"]),
            &format!("item {i} scores"),
        );
        assert_eq!(ints(&line["ranks"]), ints(&case["ranks"]), "item {i} ranks");
    }
}

/// `--precision bf16 | fp16`: the backbone computes in 16 bits, LayerNorm, softmax and the head in
/// f32; the scores stay close to fp32's (bf16 keeps 8 mantissa bits, f16 11; measured worst relative
/// differences 2.5e-3 and 4.4e-4).
#[test]
fn half_precision_rank_stays_close_to_fp32() {
    let cases = blender()["items"].as_array().unwrap().clone();
    let fp32 = ok(&["rank"], &rank_lines(&cases));
    for (precision, tol) in [("bf16", 2e-2), ("fp16", 5e-3)] {
        let half = ok(&["rank", "--precision", precision], &rank_lines(&cases));
        assert_eq!(half.len(), fp32.len());
        let mut worst = 0.0f64;
        for (h, f) in half.iter().zip(&fp32) {
            for (a, b) in floats(&h["scores"]).iter().zip(floats(&f["scores"])) {
                worst = worst.max((a - b).abs() / b.abs().max(1.0));
            }
        }
        assert!(worst <= tol, "{precision}: scores differ by {worst}");
        assert!(
            worst > 0.0,
            "{precision}: identical to fp32, so not computed in 16 bits"
        );
    }
}

#[test]
fn batch_size_does_not_change_results() {
    let expected = blender();
    let cases = expected["items"].as_array().unwrap();
    let packed = ok(&["rank", "--batch-size", "64"], &rank_lines(cases));
    let single = ok(&["rank", "--batch-size", "1"], &rank_lines(cases));
    let one_by_one: Vec<Value> = cases
        .iter()
        .flat_map(|c| {
            ok(
                &["rank", "--batch-size", "1"],
                &rank_lines(std::slice::from_ref(c)),
            )
        })
        .collect();
    assert_eq!(packed.len(), cases.len());
    for (i, ((p, s), o)) in packed.iter().zip(&single).zip(&one_by_one).enumerate() {
        for other in [s, o] {
            let (a, b) = (floats(&p["scores"]), floats(&other["scores"]));
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() <= 1e-6, "item {i}: {a:?} vs {b:?}");
            }
            assert_eq!(p["ranks"], other["ranks"], "item {i}");
        }
    }
}

#[test]
fn compare_matches_blender_compare_in_every_order() {
    let expected = blender();
    let cases = expected["items"].as_array().unwrap();
    let input = jsonl(cases.iter().map(|c| {
        json!({"instruction": c["instruction"], "input": c["input"],
               "candidate_a": c["candidates"][0], "candidate_b": c["candidates"][1]})
    }));
    for (order, mode) in [("both", "[A,B]+[B,A]"), ("ab", "[A,B]"), ("ba", "[B,A]")] {
        let lines = ok(&["compare", "--order", order], &input);
        let logits: Vec<f64> = lines.iter().map(|l| l["logit"].as_f64().unwrap()).collect();
        let want: Vec<f64> = cases
            .iter()
            .map(|c| c["compare"][mode].as_f64().unwrap())
            .collect();
        assert_close(&logits, &want, &format!("compare --order {order}"));
        for (line, logit) in lines.iter().zip(&logits) {
            let a_better = if order == "ba" {
                *logit < 0.0
            } else {
                *logit > 0.0
            };
            assert_eq!(line["a_better"], a_better, "{order}: {line}");
        }
    }
}

#[test]
fn compare_conversations_matches_blender() {
    let expected = blender();
    let cases = expected["conversations"].as_array().unwrap();
    let input = jsonl(cases.iter().map(
        |c| json!({"conversation_a": c["conversation_a"], "conversation_b": c["conversation_b"]}),
    ));
    for (order, mode) in [("both", "[A,B]+[B,A]"), ("ab", "[A,B]"), ("ba", "[B,A]")] {
        let lines = ok(&["compare-conversations", "--order", order], &input);
        let logits: Vec<f64> = lines.iter().map(|l| l["logit"].as_f64().unwrap()).collect();
        let want: Vec<f64> = cases
            .iter()
            .map(|c| c["compare"][mode].as_f64().unwrap())
            .collect();
        assert_close(
            &logits,
            &want,
            &format!("compare-conversations --order {order}"),
        );
    }
    let (_, err, ok) = ranker(
        &["compare-conversations"],
        r#"{"conversation_a": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "conversation_b": [{"role": "user", "content": "other"}, {"role": "assistant", "content": "b"}]}"#,
    );
    assert!(!ok);
    assert!(
        err.contains("item 0") && err.contains("conversation_b[0].content"),
        "{err}"
    );
}

#[test]
fn best_and_worst_of_n_match_blender_in_both_modes() {
    let expected = blender();
    let cases = expected["items"].as_array().unwrap();
    let input = rank_lines(cases);
    for (command, key) in [("best-of-n", "best_of_n"), ("worst-of-n", "worst_of_n")] {
        for mode in ["full", "bubble"] {
            let lines = ok(&[command, "--mode", mode, "--return-all"], &input);
            assert_eq!(lines.len(), cases.len());
            for (i, (line, case)) in lines.iter().zip(cases).enumerate() {
                let order = ints(&case[key][mode]);
                assert_eq!(
                    ints(&line["order"]),
                    order,
                    "{command} --mode {mode}, item {i}"
                );
                assert_eq!(line["best"].as_u64().unwrap(), order[0]);
                assert_eq!(line["candidate"], case["candidates"][order[0] as usize]);
            }
        }
    }
    // `--worst` is the same as worst-of-n.
    let worst = ok(&["best-of-n", "--worst", "--mode", "full"], &input);
    for (line, case) in worst.iter().zip(cases) {
        assert_eq!(
            line["best"].as_u64().unwrap(),
            ints(&case["worst_of_n"]["full"])[0]
        );
        assert!(line.get("order").is_none());
    }
}

#[test]
fn rank_with_ref_rewards_beating_the_reference() {
    let expected = blender();
    let case = &expected["items"][0];
    let input = jsonl([
        json!({"input": case["input"], "candidates": case["candidates"],
                              "reference": case["candidates"][1]}),
    ]);
    let rewards = ok(&["rank-with-ref"], &input);
    let compared = ok(
        &["compare"],
        &jsonl((0..3).map(|c| {
            json!({"input": case["input"], "candidate_a": case["candidates"][1],
                   "candidate_b": case["candidates"][c]})
        })),
    );
    // score(c) = −(M(ref, c) − M(c, ref)) = −compare(ref, c)
    let scores = floats(&rewards[0]["scores"]);
    let want: Vec<f64> = compared
        .iter()
        .map(|l| -l["logit"].as_f64().unwrap())
        .collect();
    assert_close(&scores, &want, "rank-with-ref");
    assert_eq!(scores[1], 0.0, "the reference against itself");
}

/// A reference-layout checkpoint directory: `config.json` = RankerConfig, the weights, no tokenizer (it comes from
/// `--base-model`).
fn listwise_checkpoint(
    dir: &Path,
    ranker_type: &str,
    weights: &str,
    weights_name: &str,
    n_tasks: u64,
) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(
        fixtures().join("rankers").join(weights),
        dir.join(weights_name),
    )
    .unwrap();
    let config = json!({"ranker_type": ranker_type, "model_type": "deberta", "model_name": "deberta-v3-tiny",
                        "source_maxlength": 24, "candidate_maxlength": 16, "n_tasks": n_tasks});
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
}

fn collate_items() -> String {
    let text = std::fs::read_to_string(fixtures().join("rankers/collate.json")).unwrap();
    let collate: Value = serde_json::from_str(&text).unwrap();
    jsonl(
        collate["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| json!({"input": item["source"], "candidates": item["candidates"]})),
    )
}

#[test]
fn listwise_checkpoints_rank_and_select() {
    let tmp = tempfile::tempdir().unwrap();
    // Scores from tests/fixtures/make_ranker_fixtures.py (its PyTorch transcription of SummaReranker / SimCLS).
    for (ranker_type, weights, name, n_tasks, fixture, key) in [
        (
            "summareranker",
            "summa_reranker.safetensors",
            "model.safetensors",
            2,
            "summa_reranker.json",
            "/eval/score",
        ),
        (
            "dual",
            "simcls.bin",
            "pytorch_model.bin",
            1,
            "simcls.json",
            "/sim",
        ),
    ] {
        let dir = tmp.path().join(ranker_type);
        listwise_checkpoint(&dir, ranker_type, weights, name, n_tasks);
        let text = std::fs::read_to_string(fixtures().join("rankers").join(fixture)).unwrap();
        let expected: Value = serde_json::from_str(&text).unwrap();
        let (lines, err, ok) = ranker_on(&dir, &[], &["rank"], &collate_items());
        assert!(ok, "{ranker_type}: {err}");
        assert_eq!(lines.len(), 3);
        let mut best = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let want = floats(&expected.pointer(key).unwrap()[i]);
            assert_close(
                &floats(&line["scores"]),
                &want,
                &format!("{ranker_type} item {i}"),
            );
            let top = (0..want.len()).fold(0, |b, c| if want[c] > want[b] { c } else { b });
            best.push(top as u64);
        }
        for mode in ["full", "bubble"] {
            let (chosen, err, ok) =
                ranker_on(&dir, &[], &["best-of-n", "--mode", mode], &collate_items());
            assert!(ok, "{ranker_type}: {err}");
            let chosen: Vec<u64> = chosen.iter().map(|l| l["best"].as_u64().unwrap()).collect();
            assert_eq!(chosen, best, "{ranker_type} best-of-n --mode {mode}");
        }
        let (_, err, ok) = ranker_on(
            &dir,
            &[],
            &["compare", "--order", "ab"],
            r#"{"input": "q", "candidate_a": "a", "candidate_b": "b"}"#,
        );
        assert!(
            !ok && err.contains("needs a pairranker checkpoint"),
            "{err}"
        );
    }
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
    // This CPU build has no CUDA backend: a one-line error before any work.
    let (_, err, ok) = ranker(&["rank", "--device", "cuda"], "");
    assert!(
        !ok && err.contains("--device: cuda") && err.contains("without CUDA support"),
        "{err}"
    );
}
