//! [`SummaRerankerScorer`]: the burn SummaReranker behind the [`ListScorer`] trait.

use std::path::Path;

use burn::tensor::backend::Backend;
use ranker_models::checkpoint::load_summa_reranker;
use ranker_models::collate::{RankText, ScrBatch, ScrCollator};
use ranker_models::ranker::{GateNoise, SummaInput, SummaReranker};

use super::list_batch::{
    canonical_rows, checkpoint_lengths, groups_by_count, read_scores, refuse_autodiff, stack_rows,
};
use crate::error::EvalError;
use crate::item::ItemText;
use crate::scorer::ListScorer;

/// A SummaReranker as a [`ListScorer`]: each item is collated on its own with `ranker-models`' [`ScrCollator`]
/// (the reference's `SCRCollator` rows, `source + SEP + candidate`), and the items of a batch that have the same
/// candidate count are stacked into one forward. A candidate's score is `sigmoid(mean_tasks pred)` with clean
/// (noise-free) gates, as the reference's `SummaReranker` in eval mode.
///
/// Every row is scored on its own (first token → shared bottom → MoE → towers; the MoE's batch statistics only
/// feed the training-time auxiliary loss), so an item's scores do not depend on its batch beyond float noise
/// (padding to the batch's longest row changes summation order). Candidates with identical tokens get their
/// first occurrence's score exactly.
///
/// The backend must not be an autodiff backend: evaluate a training model through
/// [`AutodiffModule::valid`](burn::module::AutodiffModule::valid).
#[derive(Debug)]
pub struct SummaRerankerScorer<B: Backend> {
    model: SummaReranker<B>,
    collator: ScrCollator,
    device: B::Device,
}

impl<B: Backend> SummaRerankerScorer<B> {
    /// A scorer running `model` on `device`, tokenizing with `collator`.
    ///
    /// # Errors
    /// When `B` is an autodiff backend on `device`.
    pub fn new(
        model: SummaReranker<B>,
        collator: ScrCollator,
        device: B::Device,
    ) -> Result<Self, EvalError> {
        refuse_autodiff::<B>(&device)?;
        Ok(Self {
            model,
            collator,
            device,
        })
    }

    /// Loads a SummaReranker checkpoint directory (ours, or the reference's state dict with `base_model_dir`;
    /// see [`load_summa_reranker`]) with its `source_maxlength` / `candidate_maxlength`, unless `lengths`
    /// overrides them.
    ///
    /// # Errors
    /// A checkpoint for another ranker type, missing files or keys, or lengths that are not set.
    pub fn from_checkpoint(
        dir: &Path,
        base_model_dir: Option<&Path>,
        lengths: Option<(usize, usize)>,
        device: B::Device,
    ) -> Result<Self, EvalError> {
        let context = || format!("loading the SummaReranker checkpoint {}", dir.display());
        let loaded = load_summa_reranker::<B>(dir, base_model_dir, &device)
            .map_err(|e| EvalError::scorer(context(), e))?;
        let (source, candidate) = checkpoint_lengths(dir, &loaded.ranker_config, lengths)?;
        let collator = ScrCollator::new(loaded.tokenizer, source, candidate)
            .map_err(|e| EvalError::scorer(context(), e))?;
        Self::new(loaded.model, collator, device)
    }

    /// The model.
    pub fn model(&self) -> &SummaReranker<B> {
        &self.model
    }

    /// The collator.
    pub fn collator(&self) -> &ScrCollator {
        &self.collator
    }
}

/// An item collated for [`SummaRerankerScorer`].
#[derive(Debug, Clone)]
pub struct PreparedSummaItem {
    batch: ScrBatch,
    canonical: Vec<usize>,
}

impl PreparedSummaItem {
    /// The item's rows, one per candidate.
    pub fn batch(&self) -> &ScrBatch {
        &self.batch
    }
}

impl<B: Backend> ListScorer for SummaRerankerScorer<B> {
    type Prepared = PreparedSummaItem;

    fn prepare(&mut self, item: &ItemText<'_>) -> Result<PreparedSummaItem, EvalError> {
        let text = RankText {
            source: item.source,
            candidates: item.candidates.clone(),
        };
        let batch = self.collator.collate(&[text]).map_err(|e| {
            EvalError::scorer(
                format!("item {} (id {:?}): tokenizing", item.index, item.id),
                e,
            )
        })?;
        let canonical = canonical_rows(&batch.tokens);
        Ok(PreparedSummaItem { batch, canonical })
    }

    fn score_lists(&mut self, items: &[&PreparedSummaItem]) -> Result<Vec<Vec<f64>>, EvalError> {
        let counts: Vec<usize> = items.iter().map(|p| p.batch.n_candidates).collect();
        let pad = self.collator.encoder().special().pad;
        let mut out = vec![Vec::new(); items.len()];
        for (n_candidates, members) in groups_by_count(&counts) {
            let parts: Vec<_> = members.iter().map(|&i| &items[i].batch.tokens).collect();
            let batch = ScrBatch {
                tokens: stack_rows(&parts, pad),
                n_items: members.len(),
                n_candidates,
            };
            let output = self.model.forward_with_noise(
                SummaInput::from_batch(&batch, &self.device),
                GateNoise::Clean,
            );
            let canonical: Vec<&[usize]> = members
                .iter()
                .map(|&i| items[i].canonical.as_slice())
                .collect();
            let scores = read_scores(output.scores(), &canonical, "SummaReranker forward")?;
            for (&i, scores) in members.iter().zip(scores) {
                out[i] = scores;
            }
        }
        Ok(out)
    }
}
