//! Loading the small MixInstruct files in `tests/data`: both formats, filters, metric order, weights,
//! `n_candidates`, `max_size`, ids, `cmp_results`.

use std::path::PathBuf;

use ranker_data::{Dataset, LoadOptions};
use ranker_metrics::Verdict;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn options(metrics: &[&str]) -> LoadOptions {
    LoadOptions::with_metrics(metrics.iter().copied())
}

#[test]
fn json_and_jsonl_load_the_same_examples() {
    let options = options(&["bleu", "rouge1"]);
    let from_json = Dataset::load(&data("mini.json"), &options).unwrap();
    let from_jsonl = Dataset::load(&data("mini.jsonl"), &options).unwrap();
    assert_eq!(from_json.examples, from_jsonl.examples);
    assert_eq!(from_json.metrics, ["bleu", "rouge1"]);
    assert_eq!(from_json.len(), 3);
}

#[test]
fn examples_carry_source_target_ids_texts_and_models() {
    let dataset = Dataset::load(&data("mini.jsonl"), &options(&["rouge1"])).unwrap();
    let ids: Vec<&str> = dataset.examples.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        ["dolly_15k/brainstorming/11", "17", "2"],
        "integer id as text; missing id = index"
    );
    let first = &dataset.examples[0];
    assert_eq!(
        first.source, "Name a fruit. It should be red.",
        "instruction + input, no separator"
    );
    assert_eq!(first.target, "An apple.");
    assert_eq!(
        first.candidates,
        ["A strawberry.", "An apple.", "Apple.", "A banana."]
    );
    let models: Vec<&str> = first.models.iter().map(|m| &**m).collect();
    assert_eq!(models, ["alpaca", "vicuna", "vicuna", "koala"]);
    assert_eq!(
        dataset.examples[1].source, "Say hello.",
        "missing instruction reads as empty"
    );
    assert_eq!(
        dataset.examples[1].target, "Hello!",
        "first element of an output list"
    );
}

#[test]
fn metrics_follow_the_configured_order_and_weights() {
    let dataset = Dataset::load(
        &data("mini.json"),
        &options(&["bartscore", "bleu", "rouge1"]),
    )
    .unwrap();
    assert_eq!(dataset.n_tasks(), 3);
    let scores = &dataset.examples[0].scores;
    // Written order differs per candidate; the task order is the configured one. bleu is scaled by 0.01.
    assert_eq!(scores.row(0), [-3.0, 0.2, 0.5]);
    assert_eq!(scores.row(1), [-1.5, 1.0, 1.0]);
    assert_eq!(
        scores.row(3),
        [-4.0, 0.1, 0.5],
        "integer score 10 reads as 10.0"
    );
    assert!(dataset.weighted);

    let raw = LoadOptions {
        apply_metric_weights: false,
        ..options(&["bleu"])
    };
    let dataset = Dataset::load(&data("mini.json"), &raw).unwrap();
    assert_eq!(dataset.examples[0].scores.row(0), [20.0]);
    assert!(!dataset.weighted);
}

#[test]
fn no_configured_metrics_takes_the_first_candidates_in_written_order() {
    let dataset = Dataset::load(&data("mini.json"), &LoadOptions::default()).unwrap();
    assert_eq!(dataset.metrics, ["bleu", "rouge1", "bartscore"]);
    assert_eq!(dataset.examples[1].scores.row(0), [1.0, 1.0, -0.5]);
}

#[test]
fn filters_by_model_then_decoding_method() {
    let by_model = LoadOptions {
        candidate_models: Some(vec!["vicuna".into(), "koala".into()]),
        ..options(&["rouge1"])
    };
    let dataset = Dataset::load(&data("mini.json"), &by_model).unwrap();
    assert_eq!(
        dataset.examples[0].candidates,
        ["An apple.", "Apple.", "A banana."]
    );
    assert_eq!(dataset.examples[0].scores.values(), [1.0, 0.8, 0.5]);

    let both = LoadOptions {
        decoding_methods: Some(vec!["top_p_sampling".into()]),
        ..by_model
    };
    let dataset = Dataset::load(&data("mini.json"), &both).unwrap();
    assert_eq!(dataset.examples[0].candidates, ["An apple.", "A banana."]);
    assert_eq!(dataset.examples[2].candidates, ["one two three", "3 2 1"]);
}

#[test]
fn n_candidates_keeps_the_first_after_filtering() {
    let filtered = LoadOptions {
        decoding_methods: Some(vec!["top_p_sampling".into()]),
        n_candidates: Some(2),
        ..options(&["rouge1"])
    };
    let dataset = Dataset::load(&data("mini.jsonl"), &filtered).unwrap();
    assert_eq!(
        dataset.examples[0].candidates,
        ["A strawberry.", "An apple."]
    );
    assert_eq!(dataset.check_rectangular().unwrap(), 2);
    let more = LoadOptions {
        n_candidates: Some(10),
        ..options(&["rouge1"])
    };
    assert_eq!(
        Dataset::load(&data("mini.jsonl"), &more)
            .unwrap()
            .check_rectangular()
            .unwrap(),
        4
    );
}

#[test]
fn max_size_truncates_the_head_before_filtering_and_stops_reading() {
    let head = LoadOptions {
        max_size: Some(2),
        ..options(&["rouge1"])
    };
    let dataset = Dataset::load(&data("mini.json"), &head).unwrap();
    assert_eq!(dataset.len(), 2);
    // The bad second item is never read when only the first is asked for.
    let one = LoadOptions {
        max_size: Some(1),
        ..options(&["bleu"])
    };
    for file in [
        "bad/malformed.jsonl",
        "bad/malformed.json",
        "bad/missing_text.json",
        "bad/truncated.json",
    ] {
        assert_eq!(Dataset::load(&data(file), &one).unwrap().len(), 1, "{file}");
    }
}

#[test]
fn cmp_results_in_string_and_object_form_are_typed() {
    let dataset = Dataset::load(&data("mini.json"), &options(&["rouge1"])).unwrap();
    let from_string = &dataset.examples[0].cmp_results.as_ref().unwrap();
    assert!(from_string.encoded_as_string());
    assert_eq!(
        from_string.results().get("alpaca", "vicuna"),
        Some(Verdict::BBetter)
    );
    assert_eq!(
        from_string.results().get("koala", "alpaca"),
        Some(Verdict::SameBad)
    );
    let from_object = &dataset.examples[1].cmp_results.as_ref().unwrap();
    assert!(!from_object.encoded_as_string());
    assert_eq!(
        from_object.results().get("vicuna", "koala"),
        Some(Verdict::SameGood)
    );
    assert!(dataset.examples[2].cmp_results.is_none());
}

#[test]
fn ragged_candidate_counts_load_and_the_rectangle_check_names_the_example() {
    let ragged = LoadOptions {
        candidate_models: Some(vec!["vicuna".into()]),
        ..options(&["rouge1"])
    };
    let mut dataset = Dataset::load(&data("mini.json"), &ragged).unwrap();
    dataset.examples[1].candidates.pop();
    dataset.examples[1].models.pop();
    let err = dataset.check_rectangular().unwrap_err().to_string();
    assert!(
        err.contains("mini.json: example 1 (id \"17\") has 1 candidates, expected 2"),
        "{err}"
    );
}
