//! `ranker report`'s table and chart across runs, from reports written by real evaluations.

mod common;

use std::path::Path;

use common::{load_json, matrix, TableScorer};
use ranker_data::{Dataset, LoadOptions};
use ranker_dist::SingleCollective;
use ranker_eval::report::{compare_runs, comparison_chart, CompareOptions, GptOptions, RunReport};
use ranker_eval::{evaluate_pairwise, EvalOptions, Report, SyntheticScorer, REPORT_FILE};

fn dataset() -> Dataset {
    Dataset::load(
        &common::fixture("eval/eval_data.json"),
        &LoadOptions::with_metrics(["bartscore", "bleu"]),
    )
    .unwrap()
}

/// Evaluates `dataset` into `<root>/<run>/eval/` with the fixture logits or the synthetic scorer.
fn evaluate_into(root: &Path, run: &str, dataset: &Dataset, fixture_logits: bool) -> Report {
    let eval_dir = root.join(run).join("eval");
    let options = EvalOptions {
        gpt: GptOptions::default(),
        ..EvalOptions::default()
    };
    let outcome = if fixture_logits {
        let logits = load_json("eval/eval_logits.json");
        let mut scorer = TableScorer::new(true);
        for e in &dataset.examples {
            scorer.insert(&e.id, e.candidates.clone(), matrix(&logits[&e.id]));
        }
        evaluate_pairwise(
            &mut SingleCollective,
            dataset,
            &mut scorer,
            &options,
            Some(&eval_dir),
        )
    } else {
        evaluate_pairwise(
            &mut SingleCollective,
            dataset,
            &mut SyntheticScorer::default(),
            &options,
            Some(&eval_dir),
        )
    };
    let report = outcome.unwrap().report;
    assert!(eval_dir.join(REPORT_FILE).is_file());
    report
}

fn cells(line: &str) -> Vec<String> {
    // Empty cells are kept: a run's row leaves the category cell empty.
    line.trim()
        .trim_matches('|')
        .split('|')
        .map(|c| c.trim().to_owned())
        .collect()
}

#[test]
fn one_row_per_run_with_its_own_numbers_after_the_baselines() {
    let dataset = dataset();
    let tmp = tempfile::tempdir().unwrap();
    let fixture = evaluate_into(tmp.path(), "pairranker-fixture", &dataset, true);
    let synthetic = evaluate_into(tmp.path(), "synthetic", &dataset, false);
    let runs = vec![
        RunReport::load(&tmp.path().join("pairranker-fixture")).unwrap(),
        RunReport::load(&tmp.path().join("synthetic/eval/report.json")).unwrap(),
    ];
    assert_eq!(runs[0].report.sel, fixture.sel);
    assert_eq!(runs[1].label, "synthetic");
    let table = compare_runs(&runs, &CompareOptions::default()).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        "2 run(s); baselines from pairranker-fixture (10 items)."
    );
    let header = cells(lines[2]);
    assert_eq!(
        header[..6],
        [
            "Category",
            "Run",
            "Method",
            "bartscore↑",
            "bleu↑",
            "GPT-Rank↓"
        ]
    );
    // The eval fixture's items are judged by ChatGPT and include Vicuna and Open Assistant: the paper's columns.
    assert_eq!(
        header[6..8],
        [
            "≥vicuna-13b-1.1(%)↑",
            "≥oasst-sft-4-pythia-12b-epoch-3.5(%)↑"
        ]
    );
    let row_of = |run: &str| {
        lines
            .iter()
            .map(|l| cells(l))
            .find(|c| c.len() > 2 && c[1] == run)
            .unwrap_or_else(|| panic!("no row for {run}:\n{table}"))
    };
    for (run, report) in [("pairranker-fixture", &fixture), ("synthetic", &synthetic)] {
        let row = row_of(run);
        assert_eq!(
            row[3],
            format!("{:.4}", report.sel.get("bartscore").unwrap())
        );
        assert_eq!(row[4], format!("{:.4}", report.sel.get("bleu").unwrap()));
        assert_eq!(row[5], format!("{:.2}", report.gpt_rank.unwrap()));
        let beats = report.beats.as_ref().unwrap();
        assert_eq!(
            row[6],
            format!("{:.2}", 100.0 * beats.get("vicuna-13b-1.1").unwrap())
        );
    }
    // Baselines come first: Random's row is the first report's.
    let random = lines
        .iter()
        .map(|l| cells(l))
        .find(|c| c.contains(&"Random".to_owned()))
        .unwrap();
    assert_eq!(
        random[random.iter().position(|c| c == "Random").unwrap() + 1],
        format!("{:.4}", fixture.random.get("bartscore").unwrap())
    );
    // Full-mode rankings are correlated with the GPT ranks: the second table lists both runs.
    assert!(table.contains("Spearman's footrule↓"), "{table}");
    let fixture_corr = fixture.correlation.unwrap();
    assert!(
        table.contains(&format!("{:.2}", 100.0 * fixture_corr.pearson)),
        "{table}"
    );

    let chart = tmp.path().join("chart.png");
    comparison_chart(&runs, &chart).unwrap();
    let bytes = std::fs::read(&chart).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn bad_inputs_are_one_line_errors_naming_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let err = RunReport::load(&tmp.path().join("nothing")).unwrap_err();
    assert!(err.to_string().ends_with("nothing: no report.json there (pass a run directory with eval/report.json, or the file)"), "{err}");
    let bad = tmp.path().join("report.json");
    std::fs::write(&bad, "{\"n_examples\": 3}").unwrap();
    let err = RunReport::load(&bad).unwrap_err().to_string();
    assert!(
        err.contains("report.json: not an evaluation report: missing field"),
        "{err}"
    );
    assert!(compare_runs(&[], &CompareOptions::default()).is_err());
}
