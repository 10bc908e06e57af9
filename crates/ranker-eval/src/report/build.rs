//! [`Report`]: what `eval/report.json` holds, and how it is computed from the examples and the predictions.

use ranker_data::{Example, ScoreMatrix};
use ranker_metrics::competition_ranks;
use serde::{Deserialize, Serialize};

use super::gpt::{judged_items, Correlations, GptOptions, GptSummary, Judged};
use super::selection::{oracle_index, selection_metrics, SelectionMetrics};
use super::values::{finite_or_null, NamedValues};
use crate::error::EvalError;
use crate::inference::{Aggregation, InferenceStats};
use crate::item::{first_argmax, ItemPrediction};

/// The group a table row belongs to, as in the paper's Table 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowCategory {
    /// Always picking one candidate model's output.
    Llm,
    /// Oracle selections (by a metric, by the mean of the metrics, by GPT-Rank).
    Analysis,
    /// Rankers: the random baseline and the evaluated ranker.
    Ranker,
}

/// One row of the paper-style table: a way of selecting a candidate and how well it does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MethodRow {
    /// The group.
    pub category: RowCategory,
    /// `"vicuna-13b-1.1"`, `"Oracle (bleu)"`, `"Random"`, `"PairRanker (full, max_logits)"`, …
    pub name: String,
    /// Examples the metric means are over (the judged ones for Oracle (GPT-Rank)).
    pub n_examples: usize,
    /// Mean metric scores of the selection (expected scores for Random).
    pub metrics: NamedValues,
    /// GPT metrics of the selection, when items are judged.
    pub gpt: Option<GptSummary>,
    /// Correlation of the method's full ranking with the GPT ranks (rankings by a metric and the ranker's own,
    /// when it produces a total order).
    pub correlation: Option<Correlations>,
}

/// Timings and per-rank counters: the only part of the report that depends on the machine and world size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Ranks that shared the work.
    pub world_size: usize,
    /// Wall time of inference on the slowest rank, seconds.
    pub inference_s: f64,
    /// Time inside the scorer (tokenization and forwards), summed over ranks, seconds.
    pub scorer_s: f64,
    /// `forwards / inference_s`: pairs per second for a pairwise ranker, items per second for a listwise one.
    pub forwards_per_s: f64,
    /// Forwards done by each rank.
    pub forwards_per_rank: Vec<u64>,
}

impl Timings {
    /// Timings of a run from its merged and per-rank counters.
    pub fn new(stats: &InferenceStats, per_rank: &[InferenceStats]) -> Self {
        Self {
            world_size: per_rank.len().max(1),
            inference_s: stats.wall_time.as_secs_f64(),
            scorer_s: stats.scorer_time.as_secs_f64(),
            forwards_per_s: stats.forwards_per_second(),
            forwards_per_rank: per_rank.iter().map(|s| s.forwards).collect(),
        }
    }
}

/// How the predictions were made (the report's `mode` block).
#[derive(Clone, Debug, PartialEq)]
pub struct ModeInfo {
    /// `"full"`, `"bubble"` or `"listwise"`.
    pub mode: &'static str,
    /// Full mode's aggregation.
    pub aggregation: Option<Aggregation>,
    /// Bubble mode's `num_runs`.
    pub num_runs: Option<usize>,
    /// Whether the predicted ranks are a total order worth correlating (not in bubble mode, whose ranks are an
    /// elimination order).
    pub ranks_are_total_order: bool,
}

/// `eval/report.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Items evaluated.
    pub n_examples: usize,
    /// `"full"`, `"bubble"` or `"listwise"`.
    pub mode: String,
    /// Full mode: `"max_logits"` or `"max_wins"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<Aggregation>,
    /// Bubble mode: passes per item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_runs: Option<usize>,
    /// Comparisons requested over all ranks (one pair row each in the reference: `n(n−1)` per item in full mode,
    /// `2(n−1)` per run in bubble mode); items for a listwise ranker. [`PairRankerScorer`](crate::PairRankerScorer)
    /// runs a pair of identical token rows only once, so its model may do fewer.
    pub forwards: u64,
    /// The metrics, in task order.
    pub metrics: Vec<String>,
    /// The selection's mean score on the first metric.
    #[serde(with = "finite_or_null")]
    pub dev_score: f64,
    /// Mean score of the selected candidate, per metric.
    pub sel: NamedValues,
    /// Mean score of the candidate best by the mean over metrics, per metric.
    pub oracle: NamedValues,
    /// Mean score of candidate 0, per metric.
    pub top_beam: NamedValues,
    /// Expected score of a random candidate, per metric.
    pub random: NamedValues,
    /// `sel / top_beam − 1`, per metric.
    pub gain: NamedValues,
    /// Items whose `cmp_results` judge every pair of candidates; the GPT metrics are over these only.
    pub n_gpt_examples: usize,
    /// Mean GPT rank of the selection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpt_rank: Option<f64>,
    /// ≥X: per opponent model, the share of judged items where the selection is at least as good.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beats: Option<NamedValues>,
    /// Top-k: per k, the share of judged items whose selection has GPT rank ≤ k.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<NamedValues>,
    /// Correlation of the predicted ranks with the GPT ranks (absent in bubble mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<Correlations>,
    /// The paper-style table: candidate models, oracles, random and this ranker.
    pub rows: Vec<MethodRow>,
    /// Machine- and world-size-dependent numbers.
    pub timings: Timings,
}

impl Report {
    /// The selection block (what the trainer logs).
    pub fn selection(&self) -> SelectionMetrics {
        SelectionMetrics {
            n_examples: self.n_examples,
            dev_score: self.dev_score,
            sel: self.sel.clone(),
            oracle: self.oracle.clone(),
            top_beam: self.top_beam.clone(),
            random: self.random.clone(),
            gain: self.gain.clone(),
        }
    }
}

/// What a report is built from.
#[derive(Clone, Copy, Debug)]
pub struct ReportInput<'a> {
    /// The evaluated examples, in input order.
    pub examples: &'a [Example],
    /// Metric names, in task order.
    pub metrics: &'a [String],
    /// One prediction per example, same order.
    pub predictions: &'a [ItemPrediction],
    /// How the predictions were made.
    pub mode: &'a ModeInfo,
    /// The ranker's row name, e.g. `"PairRanker"`.
    pub ranker_name: &'a str,
    /// GPT metric options.
    pub gpt: &'a GptOptions,
    /// Merged counters.
    pub stats: &'a InferenceStats,
    /// Per-rank counters.
    pub per_rank: &'a [InferenceStats],
}

/// Builds the report: selection metrics, GPT metrics over the judged items, and the table rows.
pub fn build_report(input: ReportInput<'_>) -> Result<Report, EvalError> {
    let ReportInput {
        examples,
        metrics,
        predictions,
        mode,
        ..
    } = input;
    if examples.is_empty() {
        return Err(EvalError::NoItems { what: "report" });
    }
    check_alignment(examples, metrics, predictions)?;
    let scores: Vec<&ScoreMatrix> = examples.iter().map(|e| &e.scores).collect();
    let selected: Vec<usize> = predictions.iter().map(|p| p.selected).collect();
    let selection = selection_metrics(&scores, metrics, &selected)?;
    let judged = judged_items(examples, input.gpt)?;

    let (ranker_gpt, correlation) = match &judged {
        Some(judged) => {
            let picks: Vec<usize> = judged.items.iter().map(|i| selected[i.position]).collect();
            let summary = judged.summarize(examples, &picks)?;
            let correlation = if mode.ranks_are_total_order {
                let ranks: Vec<&[u32]> = judged
                    .items
                    .iter()
                    .map(|i| predictions[i.position].ranks.as_slice())
                    .collect();
                Some(judged.correlations(&ranks)?)
            } else {
                None
            };
            (Some(summary), correlation)
        }
        None => (None, None),
    };
    let ranker_label = match (mode.aggregation, mode.num_runs) {
        (Some(aggregation), _) => format!(
            "{} ({}, {})",
            input.ranker_name,
            mode.mode,
            aggregation.as_str()
        ),
        (None, Some(runs)) if runs != 1 => {
            format!("{} ({}, {runs} runs)", input.ranker_name, mode.mode)
        }
        _ => format!("{} ({})", input.ranker_name, mode.mode),
    };
    let mut rows = baseline_rows(examples, metrics, judged.as_ref())?;
    rows.push(MethodRow {
        category: RowCategory::Ranker,
        name: ranker_label,
        n_examples: examples.len(),
        metrics: selection.sel.clone(),
        gpt: ranker_gpt.clone(),
        correlation,
    });
    Ok(Report {
        n_examples: examples.len(),
        mode: mode.mode.to_owned(),
        aggregation: mode.aggregation,
        num_runs: mode.num_runs,
        forwards: input.stats.forwards,
        metrics: metrics.to_vec(),
        dev_score: selection.dev_score,
        sel: selection.sel,
        oracle: selection.oracle,
        top_beam: selection.top_beam,
        random: selection.random,
        gain: selection.gain,
        n_gpt_examples: judged.as_ref().map_or(0, |j| j.items.len()),
        gpt_rank: ranker_gpt.as_ref().map(|g| g.gpt_rank),
        beats: ranker_gpt.as_ref().map(|g| g.beats.clone()),
        top_k: ranker_gpt.map(|g| g.top_k),
        correlation,
        rows,
        timings: Timings::new(input.stats, input.per_rank),
    })
}

fn check_alignment(
    examples: &[Example],
    metrics: &[String],
    predictions: &[ItemPrediction],
) -> Result<(), EvalError> {
    if predictions.len() != examples.len() {
        return Err(EvalError::ScorerOutput {
            what: "report",
            found: predictions.len(),
            expected: examples.len(),
        });
    }
    for (index, (example, prediction)) in examples.iter().zip(predictions).enumerate() {
        if example.scores.n_tasks() != metrics.len() {
            return Err(EvalError::InvalidOption {
                key: "data.metrics",
                value: format!("{metrics:?}"),
                reason: format!(
                    "item {index} (id {:?}) has {} metric scores per candidate",
                    example.id,
                    example.scores.n_tasks()
                ),
            });
        }
        if prediction.index != index || prediction.scores.len() != example.n_candidates() {
            return Err(EvalError::ScoreCount {
                index,
                id: example.id.clone(),
                found: prediction.scores.len(),
                expected: example.n_candidates(),
            });
        }
    }
    Ok(())
}

/// Mean score per metric of `picks[e]` over `examples[positions[e]]`.
fn metric_means(
    examples: &[Example],
    metrics: &[String],
    positions: &[usize],
    picks: &[usize],
) -> NamedValues {
    let n = positions.len() as f64;
    NamedValues::zip(
        metrics,
        (0..metrics.len()).map(|t| {
            positions
                .iter()
                .zip(picks)
                .map(|(&e, &c)| examples[e].scores.get(c, t))
                .sum::<f64>()
                / n
        }),
    )
}

/// Rows for each candidate model present once in every item, each metric's oracle (and the mean-over-metrics one
/// when there are several metrics), the GPT-Rank oracle and the random baseline.
fn baseline_rows(
    examples: &[Example],
    metrics: &[String],
    judged: Option<&Judged>,
) -> Result<Vec<MethodRow>, EvalError> {
    let all: Vec<usize> = (0..examples.len()).collect();
    let judged_positions: Vec<usize> =
        judged.map_or_else(Vec::new, |j| j.items.iter().map(|i| i.position).collect());
    let gpt_of = |picks: &[usize]| -> Result<Option<GptSummary>, EvalError> {
        judged
            .map(|j| {
                let judged_picks: Vec<usize> = j.items.iter().map(|i| picks[i.position]).collect();
                j.summarize(examples, &judged_picks)
            })
            .transpose()
    };
    let mut rows = Vec::new();

    for model in &examples[0].models {
        let picks: Option<Vec<usize>> = examples
            .iter()
            .map(|e| {
                let mut found = e.models.iter().enumerate().filter(|(_, m)| *m == model);
                match (found.next(), found.next()) {
                    (Some((c, _)), None) => Some(c),
                    _ => None,
                }
            })
            .collect();
        let Some(picks) = picks else { continue };
        rows.push(MethodRow {
            category: RowCategory::Llm,
            name: model.to_string(),
            n_examples: examples.len(),
            metrics: metric_means(examples, metrics, &all, &picks),
            gpt: gpt_of(&picks)?,
            correlation: None,
        });
    }

    for (t, metric) in metrics.iter().enumerate() {
        let per_item: Vec<Vec<f64>> = examples
            .iter()
            .map(|e| (0..e.n_candidates()).map(|c| e.scores.get(c, t)).collect())
            .collect();
        let picks: Vec<usize> = per_item
            .iter()
            .map(|s| first_argmax(s).unwrap_or(0))
            .collect();
        let correlation = match judged {
            Some(j) => {
                let ranks = j
                    .items
                    .iter()
                    .map(|i| {
                        competition_ranks(&per_item[i.position]).map_err(|e| {
                            EvalError::at_item(i.position, &examples[i.position].id, e)
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let refs: Vec<&[u32]> = ranks.iter().map(Vec::as_slice).collect();
                Some(j.correlations(&refs)?)
            }
            None => None,
        };
        rows.push(MethodRow {
            category: RowCategory::Analysis,
            name: format!("Oracle ({metric})"),
            n_examples: examples.len(),
            metrics: metric_means(examples, metrics, &all, &picks),
            gpt: gpt_of(&picks)?,
            correlation,
        });
    }
    if metrics.len() > 1 {
        let picks: Vec<usize> = examples.iter().map(|e| oracle_index(&e.scores)).collect();
        rows.push(MethodRow {
            category: RowCategory::Analysis,
            name: "Oracle (mean)".into(),
            n_examples: examples.len(),
            metrics: metric_means(examples, metrics, &all, &picks),
            gpt: gpt_of(&picks)?,
            correlation: None,
        });
    }
    if let Some(j) = judged {
        let picks = j.gpt_oracle();
        rows.push(MethodRow {
            category: RowCategory::Analysis,
            name: "Oracle (GPT-Rank)".into(),
            n_examples: judged_positions.len(),
            metrics: metric_means(examples, metrics, &judged_positions, &picks),
            gpt: Some(j.summarize(examples, &picks)?),
            correlation: None,
        });
    }
    let random = NamedValues::zip(
        metrics,
        (0..metrics.len()).map(|t| {
            examples
                .iter()
                .map(|e| {
                    (0..e.n_candidates())
                        .map(|c| e.scores.get(c, t))
                        .sum::<f64>()
                        / e.n_candidates() as f64
                })
                .sum::<f64>()
                / examples.len() as f64
        }),
    );
    rows.push(MethodRow {
        category: RowCategory::Ranker,
        name: "Random".into(),
        n_examples: examples.len(),
        metrics: random,
        gpt: judged.map(|j| j.summarize_random(examples)).transpose()?,
        correlation: None,
    });
    Ok(rows)
}
