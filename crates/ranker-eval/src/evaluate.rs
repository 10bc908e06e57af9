//! Evaluation of a dataset end to end: validate, shard, infer, gather, report, write (rank 0).

use std::path::Path;

use ranker_data::Dataset;
use ranker_dist::Collective;
use serde::{Deserialize, Serialize};

use crate::error::EvalError;
use crate::inference::{
    check_items, predict_listwise, predict_pairwise, BatchOptions, PairInference,
};
use crate::item::{ItemPrediction, ItemText};
use crate::output::write_eval_outputs;
use crate::report::{build_report, judged_items, GptOptions, ModeInfo, Report, ReportInput};
use crate::scorer::{ListScorer, PairScorer};
use crate::shard::run_sharded;

/// What `ranker eval` (and the trainer's eval-in-the-loop) asks for; the CLI maps the config's `eval` section
/// into it (`mode` + `aggregation` + `num_runs` + `run.seed` → [`PairInference`], `batch_size` → [`BatchOptions`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalOptions {
    /// PairRanker's inference mode (ignored by [`evaluate_listwise`]).
    pub mode: PairInference,
    /// Batching.
    pub batch: BatchOptions,
    /// GPT metric options.
    pub gpt: GptOptions,
    /// The ranker's name in the table, e.g. `"PairRanker"`.
    pub ranker_name: String,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            mode: PairInference::Full(crate::inference::Aggregation::MaxLogits),
            batch: BatchOptions::default(),
            gpt: GptOptions::default(),
            ranker_name: "PairRanker".into(),
        }
    }
}

/// The result of an evaluation, identical on every rank.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalOutcome {
    /// One prediction per example, input order.
    pub predictions: Vec<ItemPrediction>,
    /// The report.
    pub report: Report,
    /// Whether this rank wrote the output files (rank 0 with an output directory).
    pub written: bool,
}

/// Evaluates a pairwise ranker on `dataset`: every rank scores its contiguous block of examples, the results are
/// gathered to all ranks in input order, the report is built, and rank 0 writes `eval_dir/predictions.jsonl` and
/// `eval_dir/report.json` atomically (when `eval_dir` is given). Bad input fails before any scoring, on every rank
/// alike.
pub fn evaluate_pairwise<S: PairScorer>(
    collective: &mut dyn Collective,
    dataset: &Dataset,
    scorer: &mut S,
    options: &EvalOptions,
    eval_dir: Option<&Path>,
) -> Result<EvalOutcome, EvalError> {
    let mode = match options.mode {
        PairInference::Full(aggregation) => ModeInfo {
            mode: "full",
            aggregation: Some(aggregation),
            num_runs: None,
            ranks_are_total_order: true,
        },
        PairInference::Bubble(bubble) => ModeInfo {
            mode: "bubble",
            aggregation: None,
            num_runs: Some(bubble.num_runs),
            ranks_are_total_order: false,
        },
    };
    evaluate_with(collective, dataset, options, &mode, eval_dir, |items| {
        predict_pairwise(scorer, items, &options.mode, &options.batch, false)
    })
}

/// [`evaluate_pairwise`] for a listwise ranker (SummaReranker, SimCLS): scores per candidate, selection by the
/// first best score.
pub fn evaluate_listwise<S: ListScorer>(
    collective: &mut dyn Collective,
    dataset: &Dataset,
    scorer: &mut S,
    options: &EvalOptions,
    eval_dir: Option<&Path>,
) -> Result<EvalOutcome, EvalError> {
    let mode = ModeInfo {
        mode: "listwise",
        aggregation: None,
        num_runs: None,
        ranks_are_total_order: true,
    };
    evaluate_with(collective, dataset, options, &mode, eval_dir, |items| {
        predict_listwise(scorer, items, &options.batch)
    })
}

fn evaluate_with<F>(
    collective: &mut dyn Collective,
    dataset: &Dataset,
    options: &EvalOptions,
    mode: &ModeInfo,
    eval_dir: Option<&Path>,
    infer: F,
) -> Result<EvalOutcome, EvalError>
where
    F: FnOnce(
        &[ItemText<'_>],
    ) -> Result<(Vec<ItemPrediction>, crate::inference::InferenceStats), EvalError>,
{
    if dataset.is_empty() {
        return Err(EvalError::NoItems { what: "evaluation" });
    }
    options.batch.validate()?;
    let items = ItemText::from_examples(&dataset.examples);
    check_items(&items)?;
    judged_items(&dataset.examples, &options.gpt)?;

    let run = run_sharded(collective, items.len(), |range| infer(&items[range]))?;
    let report = build_report(ReportInput {
        examples: &dataset.examples,
        metrics: &dataset.metrics,
        predictions: &run.predictions,
        mode,
        ranker_name: &options.ranker_name,
        gpt: &options.gpt,
        stats: &run.stats,
        per_rank: &run.per_rank,
    })?;
    let written = match eval_dir {
        Some(dir) if collective.rank() == 0 => {
            let ids: Vec<&str> = dataset.examples.iter().map(|e| e.id.as_str()).collect();
            write_eval_outputs(dir, &ids, &run.predictions, &report)?;
            true
        }
        _ => false,
    };
    tracing::info!(
        items = report.n_examples,
        forwards = report.forwards,
        dev_score = report.dev_score,
        "evaluation done"
    );
    Ok(EvalOutcome {
        predictions: run.predictions,
        report,
        written,
    })
}
