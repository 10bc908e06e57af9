//! `ranker eval`: the config's `eval` section mapped onto `ranker-eval`, on a checkpoint of the run.

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use ranker_dist::ProcessGroup;
use ranker_eval::{
    evaluate_listwise, evaluate_pairwise, BatchOptions, BubbleOptions, BubbleTarget, EvalOptions,
    EvalOutcome, GptOptions, PairInference, PairRankerScorer, SimClsScorer, SummaRerankerScorer,
};

use crate::checkpoints::Checkpoints;
use crate::config::{Config, EvalMode, EvalSplit, RankerKind};
use crate::data::{require_split, Split};
use crate::error::TrainError;
use crate::run_dir::RunDir;

/// Which checkpoint `ranker eval` uses: `--checkpoint`, else `eval.checkpoint`, else the run's
/// `checkpoints/best`, else its newest step checkpoint.
pub fn resolve_checkpoint(config: &Config, flag: Option<&Path>) -> Result<PathBuf, TrainError> {
    if let Some(dir) = flag.or(config.eval.checkpoint.as_deref()) {
        if !dir.is_dir() {
            return Err(TrainError::Setup {
                key: "eval.checkpoint",
                message: format!("{} is not a directory", dir.display()),
            });
        }
        return Ok(dir.to_path_buf());
    }
    let run_dir = RunDir::new(config.output_dir());
    let checkpoints = Checkpoints::new(run_dir.checkpoints(), config.train.keep_last);
    if checkpoints.best_dir().is_dir() {
        return Ok(checkpoints.best_dir());
    }
    match checkpoints.latest()? {
        Some((_, dir)) => Ok(dir),
        None => Err(TrainError::Setup {
            key: "eval.checkpoint",
            message: format!(
                "not set, and {} holds no checkpoint; train first or pass --checkpoint DIR",
                run_dir.checkpoints().display()
            ),
        }),
    }
}

/// The `ranker-eval` options of the config (`eval` section, `run.seed`, `data.candidate_models`).
pub fn eval_options(config: &Config) -> EvalOptions {
    let e = &config.eval;
    let mode = match e.mode {
        EvalMode::Full => PairInference::Full(e.aggregation),
        EvalMode::Bubble => PairInference::Bubble(BubbleOptions {
            num_runs: e.num_runs,
            seed: config.run.seed,
            round: 0,
            target: BubbleTarget::Best,
        }),
    };
    let beat_models =
        (!config.data.candidate_models.is_empty()).then(|| config.data.candidate_models.clone());
    EvalOptions {
        mode,
        batch: BatchOptions::with_batch_size(e.batch_size),
        gpt: GptOptions {
            beat_models,
            ..GptOptions::default()
        },
        ranker_name: ranker_name(config.model.ranker).into(),
    }
}

fn ranker_name(kind: RankerKind) -> &'static str {
    match kind {
        RankerKind::PairRanker => "PairRanker",
        RankerKind::SummaReranker => "SummaReranker",
        RankerKind::SimCls => "SimCLS",
    }
}

/// Evaluates `checkpoint` on the configured split, sharded over the ranks of `pg`; rank 0 writes
/// `<output_dir>/eval/{predictions.jsonl, report.json}`. PairRanker runs `eval.mode`; SummaReranker and SimCLS
/// score every candidate once (`eval.mode` / `eval.aggregation` do not apply) and select the best score.
pub fn evaluate<B: Backend>(
    config: &Config,
    checkpoint: &Path,
    pg: &mut ProcessGroup,
    device: &B::Device,
) -> Result<EvalOutcome, TrainError> {
    let split = match config.eval.split {
        EvalSplit::Test => Split::Test,
        EvalSplit::Dev => Split::Dev,
    };
    crate::precision::check_supported::<B>(config.eval.precision, "eval.precision", device)?;
    let mixed = crate::precision::MixedPrecision::new(config.eval.precision);
    let dataset = require_split(config, split)?;
    let eval_dir = RunDir::new(config.output_dir()).eval();
    let options = eval_options(config);
    check_cross_dataset(config, checkpoint, split);
    tracing::info!(
        "evaluating {} on {} ({} examples)",
        checkpoint.display(),
        split.key(),
        dataset.examples.len()
    );
    let lengths = Some((config.model.source_max_len, config.model.candidate_max_len));
    let base_model = Some(config.model.backbone.path.as_path());
    let out = Some(eval_dir.as_path());
    let collective = pg.collective();
    let outcome = match config.model.ranker {
        RankerKind::PairRanker => {
            let scorer = PairRankerScorer::<B>::from_checkpoint(
                checkpoint,
                base_model,
                lengths,
                device.clone(),
            )?
            .with_length_budget(config.model.length_budget);
            let mut scorer = PairRankerScorer::new(
                mixed.compute_model(scorer.model().clone()),
                scorer.collator().clone(),
                device.clone(),
            )?;
            evaluate_pairwise(collective, &dataset, &mut scorer, &options, out)?
        }
        RankerKind::SummaReranker => {
            let scorer = SummaRerankerScorer::<B>::from_checkpoint(
                checkpoint,
                base_model,
                lengths,
                device.clone(),
            )?;
            let mut scorer = SummaRerankerScorer::new(
                mixed.compute_model(scorer.model().clone()),
                scorer.collator().clone(),
                device.clone(),
            )?;
            evaluate_listwise(collective, &dataset, &mut scorer, &options, out)?
        }
        RankerKind::SimCls => {
            let scorer = SimClsScorer::<B>::from_checkpoint(
                checkpoint,
                base_model,
                lengths,
                device.clone(),
            )?;
            let mut scorer = SimClsScorer::new(
                mixed.compute_model(scorer.model().clone()),
                scorer.collator().clone(),
                device.clone(),
            )?;
            evaluate_listwise(collective, &dataset, &mut scorer, &options, out)?
        }
    };
    Ok(outcome)
}

/// A checkpoint may be evaluated on another dataset than it was trained on (cross-dataset inference,
/// as the paper does): its own tokenizer is always used (the loader checks its marker ids), and the
/// report scores the evaluation set's metrics. Say so when they differ from the training metrics.
fn check_cross_dataset(config: &Config, checkpoint: &Path, split: Split) {
    let Ok(state) = Checkpoints::read_state(checkpoint) else {
        return;
    };
    if !state.metrics.is_empty() && state.metrics != config.data.metrics {
        tracing::warn!(
            "cross-dataset evaluation: {} was trained with metrics {:?}{}; {} is scored with {:?}",
            checkpoint.display(),
            state.metrics,
            state
                .train_data
                .as_deref()
                .map(|d| format!(" on {d}"))
                .unwrap_or_default(),
            split.key(),
            config.data.metrics
        );
    }
}
