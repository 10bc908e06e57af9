//! [`RewardModel`]: any ranker checkpoint behind the reward-model API, its type read from the checkpoint.

use std::path::Path;

use burn::tensor::backend::Backend;
use burn::tensor::FloatDType;
use ranker_models::backbone::cast_backbone;

use super::api::{
    self, compare_as_rank, order_by_ranks, select_output, CompareOrder, RefMode, SelectMode,
};
use super::io::{BestOfNOutput, CompareInput, CompareOutput, RankInput, RankOutput};
use crate::error::EvalError;
use crate::inference::{predict_listwise, BatchOptions, BubbleOptions, InferenceStats};
use crate::item::ItemText;
use crate::model::{PairRankerScorer, SimClsScorer, SummaRerankerScorer};
use crate::scorer::ListScorer;

/// A loaded ranker of any of the three types. PairRanker serves every request; SummaReranker and SimCLS score
/// each candidate on its own, so they serve `rank`, best-of-n / worst-of-n (by rank, as `Blender.get_best_of_n`
/// does for them) and `compare` in both orders (`s_A − s_B`, as `Blender.compare` does for them).
#[derive(Debug)]
pub enum RewardModel<B: Backend> {
    /// A pairwise PairRanker (PairRM).
    PairRanker(PairRankerScorer<B>),
    /// A listwise SummaReranker.
    SummaReranker(SummaRerankerScorer<B>),
    /// A listwise SimCLS (`ranker_type: dual`).
    SimCls(SimClsScorer<B>),
}

/// The `ranker_type` of the checkpoint in `dir`: from `ranker_config.json`, else `config.json` (the reference's
/// own layout keeps the RankerConfig there).
///
/// # Errors
/// No readable config, or one without a known `ranker_type`.
pub fn checkpoint_ranker_type(dir: &Path) -> Result<&'static str, EvalError> {
    let path = ["ranker_config.json", "config.json"]
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| EvalError::InvalidOption {
            key: "model",
            value: dir.display().to_string(),
            reason: "no ranker_config.json or config.json: not a ranker checkpoint directory"
                .into(),
        })?;
    let invalid = |reason: String| EvalError::InvalidOption {
        key: "ranker_type",
        value: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| invalid(e.to_string()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    match value.get("ranker_type").and_then(serde_json::Value::as_str) {
        Some("pairranker") => Ok("pairranker"),
        Some("summareranker") => Ok("summareranker"),
        Some("dual" | "simcls") => Ok("dual"),
        Some(other) => Err(invalid(format!(
            "{other:?} is not a ranker llm-ranker serves (pairranker, summareranker, dual)"
        ))),
        None => Err(invalid(
            "missing; the checkpoint does not say which ranker it holds".into(),
        )),
    }
}

impl<B: Backend> RewardModel<B> {
    /// Loads the checkpoint in `dir` as the ranker type it declares (see [`checkpoint_ranker_type`]), with the
    /// checkpoint's length budgets unless `lengths` overrides them.
    ///
    /// # Errors
    /// An unknown type, or the type's loader failing.
    pub fn load(
        dir: &Path,
        base_model_dir: Option<&Path>,
        lengths: Option<(usize, usize)>,
        device: B::Device,
    ) -> Result<Self, EvalError> {
        Ok(match checkpoint_ranker_type(dir)? {
            "pairranker" => RewardModel::PairRanker(PairRankerScorer::from_checkpoint(
                dir,
                base_model_dir,
                lengths,
                device,
            )?),
            "summareranker" => RewardModel::SummaReranker(SummaRerankerScorer::from_checkpoint(
                dir,
                base_model_dir,
                lengths,
                device,
            )?),
            _ => RewardModel::SimCls(SimClsScorer::from_checkpoint(
                dir,
                base_model_dir,
                lengths,
                device,
            )?),
        })
    }

    /// The same model computing in `dtype` on `device` (bf16 / f16: the backbone's parameters but the
    /// LayerNorm ones cast; LayerNorm, the softmax and the heads in f32; see [`cast_backbone`]).
    ///
    /// # Errors
    /// Those of the scorers' constructors (an autodiff backend).
    pub fn with_compute_dtype(
        self,
        dtype: FloatDType,
        device: &B::Device,
    ) -> Result<Self, EvalError> {
        let device = device.clone();
        Ok(match self {
            Self::PairRanker(s) => Self::PairRanker(PairRankerScorer::new(
                cast_backbone(s.model().clone(), dtype),
                s.collator().clone(),
                device,
            )?),
            Self::SummaReranker(s) => Self::SummaReranker(SummaRerankerScorer::new(
                cast_backbone(s.model().clone(), dtype),
                s.collator().clone(),
                device,
            )?),
            Self::SimCls(s) => Self::SimCls(SimClsScorer::new(
                cast_backbone(s.model().clone(), dtype),
                s.collator().clone(),
                device,
            )?),
        })
    }

    /// The ranker type, as checkpoints spell it.
    pub fn ranker_type(&self) -> &'static str {
        match self {
            RewardModel::PairRanker(_) => "pairranker",
            RewardModel::SummaReranker(_) => "summareranker",
            RewardModel::SimCls(_) => "dual",
        }
    }

    /// Whether requests cost n(n − 1) pair forwards (PairRanker) rather than one row per candidate.
    pub fn is_pairwise(&self) -> bool {
        matches!(self, RewardModel::PairRanker(_))
    }

    /// `Blender.rank`: PairRanker by full matrix + max-logits, the listwise rankers by their own scores.
    ///
    /// # Errors
    /// An item with fewer than two candidates, or a model failure (naming the item).
    pub fn rank(
        &mut self,
        first_index: usize,
        inputs: &[RankInput],
        batch: &BatchOptions,
        stats: &mut InferenceStats,
    ) -> Result<Vec<RankOutput>, EvalError> {
        match self {
            RewardModel::PairRanker(s) => api::rank(s, first_index, inputs, batch, stats),
            RewardModel::SummaReranker(s) => rank_listwise(s, first_index, inputs, batch, stats),
            RewardModel::SimCls(s) => rank_listwise(s, first_index, inputs, batch, stats),
        }
    }

    /// `Blender.compare` (see [`api::compare`]); a listwise ranker serves [`CompareOrder::Both`] only.
    ///
    /// # Errors
    /// A single order on a listwise ranker, or as [`RewardModel::rank`].
    pub fn compare(
        &mut self,
        first_index: usize,
        inputs: &[CompareInput],
        order: CompareOrder,
        batch: &BatchOptions,
        stats: &mut InferenceStats,
    ) -> Result<Vec<CompareOutput>, EvalError> {
        if let RewardModel::PairRanker(s) = self {
            return api::compare(s, first_index, inputs, order, batch, stats);
        }
        if order != CompareOrder::Both {
            return Err(self.unsupported("a single-order comparison (--order ab | ba)"));
        }
        let ranked = self.rank(first_index, &compare_as_rank(inputs), batch, stats)?;
        Ok(ranked
            .into_iter()
            .map(|r| {
                let logit = r.scores[0] - r.scores[1];
                CompareOutput {
                    logit,
                    a_better: logit > 0.0,
                }
            })
            .collect())
    }

    /// Best-of-n / worst-of-n (see [`api::best_of_n`]); a listwise ranker selects by rank in either mode, as the
    /// reference does.
    ///
    /// # Errors
    /// As [`RewardModel::rank`].
    #[allow(clippy::too_many_arguments)]
    pub fn best_of_n(
        &mut self,
        first_index: usize,
        inputs: &[RankInput],
        mode: SelectMode,
        bubble: &BubbleOptions,
        return_all: bool,
        batch: &BatchOptions,
        stats: &mut InferenceStats,
    ) -> Result<Vec<BestOfNOutput>, EvalError> {
        if let RewardModel::PairRanker(s) = self {
            return api::best_of_n(
                s,
                first_index,
                inputs,
                mode,
                bubble,
                return_all,
                batch,
                stats,
            );
        }
        let ranked = self.rank(first_index, inputs, batch, stats)?;
        Ok(ranked
            .iter()
            .zip(inputs)
            .map(|(r, input)| {
                select_output(input, order_by_ranks(&r.ranks, bubble.target), return_all)
            })
            .collect())
    }

    /// `Blender.rank_with_ref` (PairRanker only; see [`api::rank_with_ref`]).
    ///
    /// # Errors
    /// A listwise ranker, or as [`RewardModel::rank`].
    pub fn rank_with_ref(
        &mut self,
        first_index: usize,
        inputs: &[RankInput],
        ref_mode: RefMode,
        batch: &BatchOptions,
        stats: &mut InferenceStats,
    ) -> Result<Vec<RankOutput>, EvalError> {
        match self {
            RewardModel::PairRanker(s) => {
                api::rank_with_ref(s, first_index, inputs, ref_mode, batch, stats)
            }
            _ => Err(self.unsupported("rank-with-ref")),
        }
    }

    fn unsupported(&self, what: &'static str) -> EvalError {
        EvalError::Unsupported {
            what,
            needs: "pairranker",
            found: self.ranker_type(),
        }
    }
}

fn rank_listwise<S: ListScorer>(
    scorer: &mut S,
    first_index: usize,
    inputs: &[RankInput],
    batch: &BatchOptions,
    stats: &mut InferenceStats,
) -> Result<Vec<RankOutput>, EvalError> {
    let ids: Vec<String> = inputs
        .iter()
        .map(|i| i.id.as_ref().map(ToString::to_string).unwrap_or_default())
        .collect();
    let sources: Vec<String> = inputs.iter().map(RankInput::source).collect();
    let items: Vec<ItemText<'_>> = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| ItemText {
            index: first_index + i,
            id: &ids[i],
            source: &sources[i],
            candidates: input.candidates.iter().map(String::as_str).collect(),
        })
        .collect();
    let (predictions, run) = predict_listwise(scorer, &items, batch)?;
    stats.add(&run);
    Ok(predictions
        .into_iter()
        .map(|p| RankOutput {
            scores: p.scores,
            ranks: p.ranks,
        })
        .collect())
}
