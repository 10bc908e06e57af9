//! The console table, the output files and one-line errors for bad input.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{load_json, matrix, TableScorer};
use ranker_data::{Dataset, Example, LoadOptions, ScoreMatrix};
use ranker_dist::SingleCollective;
use ranker_eval::report::{CmpPolicy, GptOptions};
use ranker_eval::{
    evaluate_pairwise, render_table, EvalOptions, PredictionLine, SyntheticScorer,
    PREDICTIONS_FILE, REPORT_FILE,
};

fn eval_dataset(options: &LoadOptions) -> Dataset {
    Dataset::load(&common::fixture("eval/eval_data.json"), options).unwrap()
}

fn fixture_scorer(dataset: &Dataset) -> TableScorer {
    let logits = load_json("eval/eval_logits.json");
    let mut scorer = TableScorer::new(true);
    for e in &dataset.examples {
        scorer.insert(&e.id, e.candidates.clone(), matrix(&logits[&e.id]));
    }
    scorer
}

#[test]
fn table_has_the_paper_layout_and_the_files_are_written() {
    let dataset = eval_dataset(&LoadOptions::with_metrics(["bartscore", "bleu", "rouge2"]));
    let tmp = tempfile::tempdir().unwrap();
    let options = EvalOptions {
        gpt: GptOptions {
            beat_models: Some(vec![
                "vicuna-13b-1.1".into(),
                "oasst-sft-4-pythia-12b-epoch-3.5".into(),
            ]),
            ..Default::default()
        },
        ..EvalOptions::default()
    };
    let outcome = evaluate_pairwise(
        &mut SingleCollective,
        &dataset,
        &mut fixture_scorer(&dataset),
        &options,
        Some(tmp.path()),
    )
    .unwrap();
    let table = render_table(&outcome.report);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        "10 items, mode full (max_logits), 200 forwards; 7 judged by ChatGPT"
    );
    let header: Vec<&str> = lines[2]
        .split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(
        header,
        [
            "Category",
            "Method",
            "bartscore↑",
            "bleu↑",
            "rouge2↑",
            "GPT-Rank↓",
            "≥vicuna-13b-1.1(%)↑",
            "≥oasst-sft-4-pythia-12b-epoch-3.5(%)↑",
            "Top-1(%)↑",
            "Top-2(%)↑",
            "Top-3(%)↑"
        ]
    );
    let vicuna = lines
        .iter()
        .find(|l| l.contains("| vicuna-13b-1.1 "))
        .unwrap();
    assert!(
        vicuna.starts_with("| LLMs ") || lines[4].contains("alpaca"),
        "{table}"
    );
    let cells: Vec<&str> = vicuna.split('|').map(str::trim).collect();
    assert_eq!(
        cells[7], "N/A",
        "a model is not compared with itself: {vicuna}"
    );
    let ranker = lines
        .iter()
        .find(|l| l.contains("PairRanker (full, max_logits)"))
        .unwrap();
    let report = &outcome.report;
    assert!(
        ranker.contains(&format!("{:.4}", report.sel.get("bartscore").unwrap())),
        "{ranker}"
    );
    assert!(
        ranker.contains(&format!("{:.2}", report.gpt_rank.unwrap())),
        "{ranker}"
    );
    assert!(table.contains("| Ranking method "), "{table}");
    assert!(
        table.contains("| bleu "),
        "metric rankings appear by metric name: {table}"
    );
    let correlation = report.correlation.unwrap();
    assert!(ranker.contains("PairRanker"));
    assert!(
        table.contains(&format!("{:.2}", 100.0 * correlation.pearson)),
        "{table}"
    );

    let text = std::fs::read_to_string(tmp.path().join(PREDICTIONS_FILE)).unwrap();
    let lines: Vec<PredictionLine> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 10);
    assert_eq!(lines[3].id, "test/3");
    assert_eq!(lines[3].selected as usize, outcome.predictions[3].selected);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join(REPORT_FILE)).unwrap())
            .unwrap();
    for key in [
        "n_examples",
        "mode",
        "forwards",
        "sel",
        "oracle",
        "top_beam",
        "random",
        "gain",
        "gpt_rank",
        "beats",
        "top_k",
        "correlation",
    ] {
        assert!(written.get(key).is_some(), "report.json lacks {key}");
    }
    let back: ranker_eval::Report = serde_json::from_value(written).unwrap();
    assert_eq!(back.sel, outcome.report.sel);
}

fn example(id: &str, models: &[&str], cmp: Option<&[(&str, &str)]>) -> Example {
    let n = models.len();
    Example {
        id: id.into(),
        source: format!("source {id}"),
        target: String::new(),
        candidates: (0..n).map(|c| format!("candidate {c}")).collect(),
        models: models.iter().map(|m| Arc::from(*m)).collect(),
        scores: ScoreMatrix::new(1, (0..n).map(|c| c as f64).collect()).unwrap(),
        cmp_results: cmp.map(|entries| {
            ranker_data::CmpField::object(
                ranker_metrics::CmpResults::from_entries(entries.iter().copied()).unwrap(),
            )
        }),
    }
}

fn dataset(examples: Vec<Example>) -> Dataset {
    Dataset {
        path: "d.json".into(),
        metrics: vec!["bleu".into()],
        weighted: true,
        examples,
    }
}

fn evaluate(dataset: &Dataset, options: &EvalOptions) -> String {
    evaluate_pairwise(
        &mut SingleCollective,
        dataset,
        &mut SyntheticScorer::default(),
        options,
        None::<&Path>,
    )
    .map(|_| ())
    .unwrap_err()
    .chain_line()
}

#[test]
fn bad_input_is_a_one_line_error_naming_the_item() {
    let abc: &[(&str, &str)] = &[
        ("a,b", "A is better"),
        ("b,c", "Same good"),
        ("a,c", "Same bad"),
    ];
    let options = EvalOptions::default();

    let one = dataset(vec![
        example("ok", &["a", "b"], None),
        example("x/1", &["a"], None),
    ]);
    assert_eq!(
        evaluate(&one, &options),
        r#"item 1 (id "x/1"): 1 candidate(s), at least 2 are needed to rank"#
    );

    let unknown: &[(&str, &str)] = &[("a,b", "A is better"), ("a,gpt5", "Same good")];
    let d = dataset(vec![example("u/0", &["a", "b"], Some(unknown))]);
    assert_eq!(
        evaluate(&d, &options),
        r#"item 0 (id "u/0"): cmp_results key 'a,gpt5': model 'gpt5' is not among the candidates"#
    );
    let lenient = EvalOptions {
        gpt: GptOptions {
            cmp_policy: CmpPolicy::IgnoreAbsent,
            ..Default::default()
        },
        ..EvalOptions::default()
    };
    evaluate_pairwise(
        &mut SingleCollective,
        &d,
        &mut SyntheticScorer::default(),
        &lenient,
        None::<&Path>,
    )
    .unwrap();

    // Correlations compare candidates per model across items: a judged item with other models is an error.
    let ab: &[(&str, &str)] = &[("a,b", "B is better")];
    let d = dataset(vec![
        example("r/0", &["a", "b", "c"], Some(abc)),
        example("r/1", &["a", "b"], Some(ab)),
    ]);
    let err = evaluate(&d, &EvalOptions::default());
    assert!(
        err.starts_with(
            r#"item 1 (id "r/1"): candidate models ["a", "b"] differ from item 0's ["a", "b", "c"]"#
        ),
        "{err}"
    );

    let vs = EvalOptions {
        gpt: GptOptions {
            beat_models: Some(vec!["vicuna".into()]),
            ..Default::default()
        },
        ..EvalOptions::default()
    };
    let d = dataset(vec![example("v/0", &["a", "b", "c"], Some(abc))]);
    assert_eq!(
        evaluate(&d, &vs),
        r#"item 0 (id "v/0"): beats opponent 'vicuna' is not among the candidate models ["a", "b", "c"]"#
    );

    let zero = EvalOptions {
        batch: ranker_eval::BatchOptions::with_batch_size(0),
        ..EvalOptions::default()
    };
    assert_eq!(
        evaluate(&d, &zero),
        "eval.batch_size = 0: must be at least 1"
    );
    assert_eq!(evaluate(&dataset(vec![]), &options), "evaluation: no items");
}

#[test]
fn filtered_candidates_need_the_lenient_policy() {
    // Keeping 3 of the 5 models leaves judgements about the other two in cmp_results.
    let mut options = LoadOptions::with_metrics(["bartscore"]);
    options.candidate_models = Some(vec![
        "alpaca-native".into(),
        "vicuna-13b-1.1".into(),
        "koala-7B-HF".into(),
    ]);
    let dataset = eval_dataset(&options);
    let strict = evaluate(&dataset, &EvalOptions::default());
    assert!(
        strict.starts_with(r#"item 0 (id "test/0"): cmp_results key"#),
        "{strict}"
    );
    let lenient = EvalOptions {
        gpt: GptOptions {
            cmp_policy: CmpPolicy::IgnoreAbsent,
            ..Default::default()
        },
        ..EvalOptions::default()
    };
    let outcome = evaluate_pairwise(
        &mut SingleCollective,
        &dataset,
        &mut SyntheticScorer::default(),
        &lenient,
        None::<&Path>,
    )
    .unwrap();
    // Item 5's partial judgements may now cover the 3 kept models or not; every other judged item still counts.
    assert!(
        outcome.report.n_gpt_examples >= 7,
        "{}",
        outcome.report.n_gpt_examples
    );
    assert_eq!(outcome.report.beats.as_ref().unwrap().len(), 3);
}
