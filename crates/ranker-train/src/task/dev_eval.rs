//! The dev-set selection of the training loop, written once for the three rankers: a scorer over the
//! inner (non-autodiff) model, sharded over the ranks, no prediction files, the selection metrics.

use burn::tensor::backend::Backend;
use ranker_data::Dataset;
use ranker_dist::Collective;
use ranker_eval::{
    evaluate_listwise, evaluate_pairwise, BatchOptions, EvalError, EvalOptions, EvalOutcome,
    PairInference, PairRankerScorer, SelectionMetrics, SimClsScorer, SummaRerankerScorer,
};

use crate::error::TrainError;

/// A ranker's scorer as the dev evaluation runs it: pairwise (PairRanker) or listwise.
pub(crate) trait DevScorer {
    fn evaluate(
        &mut self,
        collective: &mut dyn Collective,
        dev: &Dataset,
        options: &EvalOptions,
    ) -> Result<EvalOutcome, EvalError>;
}

impl<B: Backend> DevScorer for PairRankerScorer<B> {
    fn evaluate(
        &mut self,
        collective: &mut dyn Collective,
        dev: &Dataset,
        options: &EvalOptions,
    ) -> Result<EvalOutcome, EvalError> {
        evaluate_pairwise(collective, dev, self, options, None)
    }
}

impl<B: Backend> DevScorer for SummaRerankerScorer<B> {
    fn evaluate(
        &mut self,
        collective: &mut dyn Collective,
        dev: &Dataset,
        options: &EvalOptions,
    ) -> Result<EvalOutcome, EvalError> {
        evaluate_listwise(collective, dev, self, options, None)
    }
}

impl<B: Backend> DevScorer for SimClsScorer<B> {
    fn evaluate(
        &mut self,
        collective: &mut dyn Collective,
        dev: &Dataset,
        options: &EvalOptions,
    ) -> Result<EvalOutcome, EvalError> {
        evaluate_listwise(collective, dev, self, options, None)
    }
}

/// What the dev evaluation of one ranker is run with.
pub(crate) struct DevEvalOptions<'a> {
    /// The ranker's name in the report's table row.
    pub ranker_name: &'a str,
    /// Items per scoring batch (`eval.batch_size`).
    pub batch_size: usize,
    /// PairRanker's inference mode; `None` for the listwise rankers.
    pub pair_inference: Option<PairInference>,
}

impl<'a> DevEvalOptions<'a> {
    pub fn listwise(ranker_name: &'a str, batch_size: usize) -> Self {
        Self {
            ranker_name,
            batch_size,
            pair_inference: None,
        }
    }

    pub fn pairwise(ranker_name: &'a str, batch_size: usize, inference: PairInference) -> Self {
        Self {
            ranker_name,
            batch_size,
            pair_inference: Some(inference),
        }
    }
}

/// Selects a candidate per dev example with `scorer` and returns the selection metrics.
pub(crate) fn dev_selection(
    scorer: &mut impl DevScorer,
    options: DevEvalOptions<'_>,
    dev: &Dataset,
    collective: &mut dyn Collective,
) -> Result<SelectionMetrics, TrainError> {
    let defaults = EvalOptions::default();
    let options = EvalOptions {
        mode: options.pair_inference.unwrap_or(defaults.mode),
        batch: BatchOptions::with_batch_size(options.batch_size),
        ranker_name: options.ranker_name.into(),
        ..defaults
    };
    let outcome = scorer.evaluate(collective, dev, &options)?;
    Ok(outcome.report.selection())
}
