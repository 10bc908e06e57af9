//! Every bad-data error, in both formats: the one-line message (error and its causes, as `{:#}` prints them)
//! names the file and the line (JSONL) or the item index and id (JSON).
//!
//! Each file under `tests/data/bad/` holds a good item, then (after a blank line in the JSONL files, so line
//! 3 is item 1) the bad item with id `bad/1`.

use std::error::Error;
use std::path::PathBuf;

use ranker_data::{DataError, Dataset, LoadOptions};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The error and its causes on one line, as anyhow's `{:#}` prints them.
fn one_line(error: &DataError) -> String {
    let mut line = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        line.push_str(&format!(": {next}"));
        cause = next.source();
    }
    line
}

/// Loads `tests/data/<name>` with metrics bleu, rouge1 and returns the message with the file path shortened to
/// `<name>`.
fn load_error_with(name: &str, options: &LoadOptions) -> String {
    let path = data(name);
    let error = Dataset::load(&path, options).expect_err(name);
    let message = one_line(&error);
    assert!(!message.contains('\n'), "one line: {message}");
    let full = path.display().to_string();
    assert!(message.starts_with(&full), "names the file: {message}");
    message.replacen(&full, name, 1)
}

fn load_error(name: &str) -> String {
    load_error_with(name, &LoadOptions::with_metrics(["bleu", "rouge1"]))
}

#[test]
fn malformed_json() {
    assert_eq!(
        load_error("bad/malformed.jsonl"),
        "bad/malformed.jsonl:3:30: malformed JSON (item 1): key must be a string at line 1 column 30"
    );
    assert_eq!(
        load_error("bad/malformed.json"),
        "bad/malformed.json:3:30: malformed JSON (item 1): key must be a string at line 3 column 30"
    );
    assert_eq!(
        load_error("bad/truncated.json"),
        "bad/truncated.json:3:30: malformed JSON (item 1): EOF while parsing a string at line 3 column 30"
    );
    assert_eq!(
        load_error("bad/not_array.json"),
        "bad/not_array.json:1:1: malformed JSON (item 0): invalid type: map, \
         expected a top-level JSON array of MixInstruct items at line 1 column 1"
    );
}

#[test]
fn missing_text() {
    assert_eq!(
        load_error("bad/missing_text.jsonl"),
        "bad/missing_text.jsonl:3: item 1 (id \"bad/1\"): at `candidates[1]`: invalid MixInstruct item: \
         missing field `text` at line 1 column 234"
    );
    assert_eq!(
        load_error("bad/missing_text.json"),
        "bad/missing_text.json:3: item 1 (id \"bad/1\"): at `candidates[1]`: invalid MixInstruct item: \
         missing field `text` at line 3 column 234"
    );
}

#[test]
fn configured_metric_missing_from_a_candidate() {
    let expected = "item 1 (id \"bad/1\"): candidate 1 (model \"m2\") has no score \"bleu\"; it has [\"rouge1\"]";
    assert_eq!(
        load_error("bad/missing_metric.jsonl"),
        format!("bad/missing_metric.jsonl:3: {expected}")
    );
    assert_eq!(
        load_error("bad/missing_metric.json"),
        format!("bad/missing_metric.json: {expected}")
    );
    // Not configured, not needed: the file loads with rouge1 alone.
    let rouge = LoadOptions::with_metrics(["rouge1"]);
    assert_eq!(
        Dataset::load(&data("bad/missing_metric.json"), &rouge)
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn non_numeric_score() {
    let expected = "item 1 (id \"bad/1\"): candidate 1 (model \"m2\"): score \"bleu\" is not a number: \"n/a\"";
    assert_eq!(
        load_error("bad/non_numeric_score.jsonl"),
        format!("bad/non_numeric_score.jsonl:3: {expected}")
    );
    assert_eq!(
        load_error("bad/non_numeric_score.json"),
        format!("bad/non_numeric_score.json: {expected}")
    );
}

#[test]
fn nan_score_written_by_python() {
    let hint = "`NaN` is not JSON; scores must be finite numbers \
                (Python's json.dump writes NaN/Infinity for non-finite floats)";
    assert_eq!(
        load_error("bad/nan_score.jsonl"),
        format!("bad/nan_score.jsonl:3:227: {hint}: expected value at line 1 column 227")
    );
    assert_eq!(
        load_error("bad/nan_score.json"),
        format!("bad/nan_score.json:46:14: {hint}: expected value at line 46 column 14")
    );
}

#[test]
fn zero_candidates() {
    assert_eq!(
        load_error("bad/no_candidates.jsonl"),
        "bad/no_candidates.jsonl:3: item 1 (id \"bad/1\"): item has no candidates"
    );
    assert_eq!(
        load_error("bad/no_candidates.json"),
        "bad/no_candidates.json: item 1 (id \"bad/1\"): item has no candidates"
    );
}

#[test]
fn filters_that_leave_no_candidate_list_the_available_pairs() {
    let options = LoadOptions {
        candidate_models: Some(vec!["vicuna".into()]),
        decoding_methods: Some(vec!["greedy".into()]),
        ..LoadOptions::with_metrics(["bleu"])
    };
    assert_eq!(
        load_error_with("mini.jsonl", &options),
        "mini.jsonl:1: item 0 (id \"dolly_15k/brainstorming/11\"): no candidate left after filtering by models \
         Some([\"vicuna\"]) and decoding methods Some([\"greedy\"]); available (model, decoding_method) pairs: \
         [(\"alpaca\", \"top_p_sampling\"), (\"vicuna\", \"top_p_sampling\"), (\"vicuna\", \"beam_search\"), \
         (\"koala\", \"top_p_sampling\")]"
    );
}

#[test]
fn empty_output_list() {
    assert_eq!(
        load_error("bad/empty_output.jsonl"),
        "bad/empty_output.jsonl:3: item 1 (id \"bad/1\"): at `output`: invalid MixInstruct item: \
         `output` is an empty list; it needs at least the target text at line 1 column 42"
    );
    assert_eq!(
        load_error("bad/empty_output.json"),
        "bad/empty_output.json:3: item 1 (id \"bad/1\"): at `output`: invalid MixInstruct item: \
         `output` is an empty list; it needs at least the target text at line 3 column 42"
    );
}

#[test]
fn unknown_cmp_verdict() {
    let cause = "cmp_results key 'm1,m2': unknown verdict 'A wins' \
                 (expected \"A is better\", \"B is better\", \"Same good\" or \"Same bad\")";
    assert_eq!(
        load_error("bad/bad_verdict.jsonl"),
        format!("bad/bad_verdict.jsonl:3: item 1 (id \"bad/1\"): at `cmp_results`: invalid MixInstruct item: {cause} at line 1 column 284")
    );
    assert_eq!(
        load_error("bad/bad_verdict.json"),
        format!("bad/bad_verdict.json:3: item 1 (id \"bad/1\"): at `cmp_results`: invalid MixInstruct item: {cause} at line 3 column 284")
    );
}

#[test]
fn empty_file_unknown_extension_and_missing_file() {
    assert_eq!(load_error("bad/empty.jsonl"), "bad/empty.jsonl: no items");
    let options = LoadOptions::default();
    let err = Dataset::load(&data("mini.txt"), &options).unwrap_err();
    assert!(matches!(err, DataError::UnknownFormat { .. }), "{err}");
    let err = Dataset::load(&data("absent.jsonl"), &options).unwrap_err();
    assert!(
        one_line(&err)
            .ends_with("absent.jsonl: cannot read: No such file or directory (os error 2)"),
        "{err}"
    );
}
