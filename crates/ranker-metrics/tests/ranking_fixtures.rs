//! Ranking metrics against the LLM-Blender formulas transcribed in
//! `tests/fixtures/make_metric_fixtures.py` and run with numpy / scipy.

mod common;

use std::collections::BTreeMap;

use common::{close, nan_or, read_json};
use ranker_metrics::ranking::{pearson_per_column, spearman_per_column};
use ranker_metrics::{
    beat_rate, competition_ranks, cor_pearson, cor_spearman, gpt_cmp_matrix, gpt_ranks,
    max_logits_scores, max_wins_scores, mean_selected_rank, spearman_footrule, top_k_rate,
    CmpResults, Matrix, MetricsError,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixtures {
    competition_ranks: Vec<RankCase>,
    pairwise: Vec<PairwiseCase>,
    gpt_items: Vec<GptItem>,
    gpt_aggregate: GptAggregate,
    correlation: Vec<CorrelationCase>,
}

#[derive(Deserialize)]
struct RankCase {
    scores: Vec<f64>,
    ranks: Vec<u32>,
}

#[derive(Deserialize)]
struct PairwiseCase {
    matrix: Vec<Vec<f64>>,
    max_logits: Vec<f64>,
    max_wins: Vec<f64>,
    max_logits_ranks: Vec<u32>,
    max_wins_ranks: Vec<u32>,
}

#[derive(Deserialize)]
struct GptItem {
    models: Vec<String>,
    cmp_results: CmpResults,
    cmp_matrix: Vec<Vec<f64>>,
    gpt_ranks: Vec<u32>,
    selected: usize,
    beats: BTreeMap<String, Option<f64>>,
}

#[derive(Deserialize)]
struct GptAggregate {
    item_indices: Vec<usize>,
    mean_gpt_rank: f64,
    top_k: BTreeMap<String, f64>,
}

#[derive(Deserialize)]
struct CorrelationCase {
    hypo_ranks: Vec<Vec<f64>>,
    ref_ranks: Vec<Vec<f64>>,
    pearson_columns: Vec<Option<f64>>,
    spearman_columns: Vec<Option<f64>>,
    pearson: Option<f64>,
    spearman: Option<f64>,
    footrule: Option<f64>,
}

fn fixtures() -> Fixtures {
    read_json("ranking.json")
}

fn assert_all_close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(close(*g, *w), "{what}[{i}]: {g} vs {w}");
    }
}

#[test]
fn competition_ranks_match_get_ranks_from_scores() {
    let f = fixtures();
    assert!(f.competition_ranks.len() >= 50);
    for (i, case) in f.competition_ranks.iter().enumerate() {
        assert_eq!(
            competition_ranks(&case.scores).unwrap(),
            case.ranks,
            "case {i}"
        );
    }
}

#[test]
fn pairwise_aggregations_match_the_reference() {
    for (i, case) in fixtures().pairwise.iter().enumerate() {
        let m = Matrix::from_rows(&case.matrix).unwrap();
        let logits = max_logits_scores(&m).unwrap();
        let wins = max_wins_scores(&m).unwrap();
        assert_all_close(&logits, &case.max_logits, &format!("case {i} max_logits"));
        assert_all_close(&wins, &case.max_wins, &format!("case {i} max_wins"));
        assert_eq!(
            competition_ranks(&logits).unwrap(),
            case.max_logits_ranks,
            "case {i}"
        );
        assert_eq!(
            competition_ranks(&wins).unwrap(),
            case.max_wins_ranks,
            "case {i}"
        );
    }
}

#[test]
fn gpt_ranks_and_beats_match_the_reference() {
    let f = fixtures();
    for (i, item) in f.gpt_items.iter().enumerate() {
        let c = gpt_cmp_matrix(&item.cmp_results, &item.models).unwrap();
        assert_eq!(c, Matrix::from_rows(&item.cmp_matrix).unwrap(), "item {i}");
        assert_eq!(
            gpt_ranks(&item.cmp_results, &item.models).unwrap(),
            item.gpt_ranks,
            "item {i}"
        );
        let selected = &item.models[item.selected];
        for (opponent, want) in &item.beats {
            let got = item.cmp_results.beat_value(selected, opponent);
            match want {
                Some(w) => assert_eq!(got.unwrap(), *w, "item {i} vs {opponent}"),
                None => assert!(
                    matches!(got, Err(MetricsError::MissingVerdict { .. })),
                    "item {i} vs {opponent}: {got:?}"
                ),
            }
        }
    }
}

#[test]
fn selection_aggregates_match_the_reference() {
    let f = fixtures();
    let items: Vec<&GptItem> = f
        .gpt_aggregate
        .item_indices
        .iter()
        .map(|&i| &f.gpt_items[i])
        .collect();
    let ranks: Vec<&[u32]> = items.iter().map(|it| it.gpt_ranks.as_slice()).collect();
    let selected: Vec<usize> = items.iter().map(|it| it.selected).collect();
    assert!(close(
        mean_selected_rank(&ranks, &selected).unwrap(),
        f.gpt_aggregate.mean_gpt_rank
    ));
    for (k, want) in &f.gpt_aggregate.top_k {
        let got = top_k_rate(&ranks, &selected, k.parse().unwrap()).unwrap();
        assert!(close(got, *want), "top-{k}: {got} vs {want}");
    }
    // ≥X over the items where every needed verdict exists.
    let opponent = "vicuna-13b-1.1";
    let judged: Vec<(&CmpResults, &str)> = items
        .iter()
        .filter(|it| matches!(it.beats.get(opponent), Some(Some(_))))
        .map(|it| (&it.cmp_results, it.models[it.selected].as_str()))
        .collect();
    let want: f64 = items
        .iter()
        .filter_map(|it| it.beats.get(opponent).copied().flatten())
        .sum::<f64>()
        / judged.len() as f64;
    assert!(close(beat_rate(&judged, opponent).unwrap(), want));
}

#[test]
fn correlations_match_numpy_and_scipy() {
    let f = fixtures();
    assert!(
        f.correlation.iter().any(|c| c.pearson.is_none()),
        "no NaN case"
    );
    for (i, case) in f.correlation.iter().enumerate() {
        let h = Matrix::from_rows(&case.hypo_ranks).unwrap();
        let r = Matrix::from_rows(&case.ref_ranks).unwrap();
        let want_p: Vec<f64> = case.pearson_columns.iter().map(|&x| nan_or(x)).collect();
        let want_s: Vec<f64> = case.spearman_columns.iter().map(|&x| nan_or(x)).collect();
        assert_all_close(
            &pearson_per_column(&h, &r).unwrap(),
            &want_p,
            &format!("case {i} pearson"),
        );
        assert_all_close(
            &spearman_per_column(&h, &r).unwrap(),
            &want_s,
            &format!("case {i} spearman"),
        );
        let checks = [
            (
                "cor_pearson",
                cor_pearson(&h, &r).unwrap(),
                nan_or(case.pearson),
            ),
            (
                "cor_spearman",
                cor_spearman(&h, &r).unwrap(),
                nan_or(case.spearman),
            ),
            (
                "footrule",
                spearman_footrule(&h, &r).unwrap(),
                nan_or(case.footrule),
            ),
        ];
        for (name, got, want) in checks {
            assert!(close(got, want), "case {i} {name}: {got} vs {want}");
        }
    }
}
