//! The dev-set selection of the training loop, written once for the three rankers: a scorer over the
//! inner (non-autodiff) model, sharded over the ranks, no prediction files, the selection metrics.

use ranker_data::Dataset;
use ranker_dist::Collective;
use ranker_eval::{
    evaluate_listwise, evaluate_pairwise, BatchOptions, EvalOptions, ListScorer, PairInference,
    PairScorer, SelectionMetrics,
};

use crate::error::TrainError;

/// Selects a candidate per dev example with PairRanker `scorer` in `inference` mode.
pub(crate) fn pairwise_dev_selection(
    scorer: &mut impl PairScorer,
    ranker_name: &str,
    batch_size: usize,
    inference: PairInference,
    dev: &Dataset,
    collective: &mut dyn Collective,
) -> Result<SelectionMetrics, TrainError> {
    let options = EvalOptions {
        mode: inference,
        ..eval_options(ranker_name, batch_size)
    };
    let outcome = evaluate_pairwise(collective, dev, scorer, &options, None)?;
    Ok(outcome.report.selection())
}

/// Selects a candidate per dev example with listwise `scorer` (its best-scored candidate).
pub(crate) fn listwise_dev_selection(
    scorer: &mut impl ListScorer,
    ranker_name: &str,
    batch_size: usize,
    dev: &Dataset,
    collective: &mut dyn Collective,
) -> Result<SelectionMetrics, TrainError> {
    let options = eval_options(ranker_name, batch_size);
    let outcome = evaluate_listwise(collective, dev, scorer, &options, None)?;
    Ok(outcome.report.selection())
}

/// The evaluation options of a dev selection: `batch_size` items per scoring batch
/// (`eval.batch_size`), `ranker_name` in the report's table row.
fn eval_options(ranker_name: &str, batch_size: usize) -> EvalOptions {
    EvalOptions {
        batch: BatchOptions::with_batch_size(batch_size),
        ranker_name: ranker_name.into(),
        ..EvalOptions::default()
    }
}
