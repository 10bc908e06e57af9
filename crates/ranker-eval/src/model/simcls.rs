//! [`SimClsScorer`]: the burn SimCLS dual encoder behind the [`ListScorer`] trait.

use std::path::Path;

use burn::tensor::backend::Backend;
use ranker_models::checkpoint::load_simcls;
use ranker_models::collate::{DualBatch, DualCollator, RankText};
use ranker_models::ranker::{DualInput, SimCls};

use super::list_batch::{
    canonical_rows, checkpoint_lengths, groups_by_count, read_scores, refuse_autodiff, stack_rows,
};
use crate::error::EvalError;
use crate::item::ItemText;
use crate::scorer::ListScorer;

/// SimCLS as a [`ListScorer`]: each item is collated on its own with `ranker-models`' [`DualCollator`] (the
/// reference's `DualCollator`: `<source>` + source and `<candidate>` + each candidate, encoded separately), and
/// the items of a batch that have the same candidate count are stacked into one forward. A candidate's score is
/// the cosine similarity of its first-token vector with the source's (the reference's `DualReranker` logits).
///
/// Sources and candidates are encoded row by row, so an item's scores do not depend on its batch beyond float
/// noise (padding to the batch's longest row changes summation order). Candidates with identical tokens get their
/// first occurrence's score exactly.
///
/// The backend must not be an autodiff backend: evaluate a training model through
/// [`AutodiffModule::valid`](burn::module::AutodiffModule::valid).
#[derive(Debug)]
pub struct SimClsScorer<B: Backend> {
    model: SimCls<B>,
    collator: DualCollator,
    device: B::Device,
}

impl<B: Backend> SimClsScorer<B> {
    /// A scorer running `model` on `device`, tokenizing with `collator`.
    ///
    /// # Errors
    /// When `B` is an autodiff backend on `device`.
    pub fn new(
        model: SimCls<B>,
        collator: DualCollator,
        device: B::Device,
    ) -> Result<Self, EvalError> {
        refuse_autodiff::<B>(&device)?;
        Ok(Self {
            model,
            collator,
            device,
        })
    }

    /// Loads a SimCLS checkpoint directory (ours, or the reference's `DualReranker` state dict with
    /// `base_model_dir`; see [`load_simcls`]) with its `source_maxlength` / `candidate_maxlength`, unless
    /// `lengths` overrides them.
    ///
    /// # Errors
    /// A checkpoint for another ranker type, missing files or keys, or lengths that are not set.
    pub fn from_checkpoint(
        dir: &Path,
        base_model_dir: Option<&Path>,
        lengths: Option<(usize, usize)>,
        device: B::Device,
    ) -> Result<Self, EvalError> {
        let context = || format!("loading the SimCLS checkpoint {}", dir.display());
        let loaded = load_simcls::<B>(dir, base_model_dir, &device)
            .map_err(|e| EvalError::scorer(context(), e))?;
        let (source, candidate) = checkpoint_lengths(dir, &loaded.ranker_config, lengths)?;
        let collator = DualCollator::new(loaded.tokenizer, source, candidate)
            .map_err(|e| EvalError::scorer(context(), e))?;
        Self::new(loaded.model, collator, device)
    }

    /// The model.
    pub fn model(&self) -> &SimCls<B> {
        &self.model
    }

    /// The collator.
    pub fn collator(&self) -> &DualCollator {
        &self.collator
    }
}

/// An item collated for [`SimClsScorer`].
#[derive(Debug, Clone)]
pub struct PreparedSimClsItem {
    batch: DualBatch,
    canonical: Vec<usize>,
}

impl PreparedSimClsItem {
    /// The item's source row and candidate rows (no reference).
    pub fn batch(&self) -> &DualBatch {
        &self.batch
    }
}

impl<B: Backend> ListScorer for SimClsScorer<B> {
    type Prepared = PreparedSimClsItem;

    fn prepare(&mut self, item: &ItemText<'_>) -> Result<PreparedSimClsItem, EvalError> {
        let text = RankText {
            source: item.source,
            candidates: item.candidates.clone(),
        };
        let batch = self.collator.collate(&[text], None).map_err(|e| {
            EvalError::scorer(
                format!("item {} (id {:?}): tokenizing", item.index, item.id),
                e,
            )
        })?;
        let canonical = canonical_rows(&batch.candidates);
        Ok(PreparedSimClsItem { batch, canonical })
    }

    fn score_lists(&mut self, items: &[&PreparedSimClsItem]) -> Result<Vec<Vec<f64>>, EvalError> {
        let counts: Vec<usize> = items.iter().map(|p| p.batch.n_candidates).collect();
        let pad = self.collator.encoder().special().pad;
        let mut out = vec![Vec::new(); items.len()];
        for (n_candidates, members) in groups_by_count(&counts) {
            let sources: Vec<_> = members.iter().map(|&i| &items[i].batch.source).collect();
            let candidates: Vec<_> = members
                .iter()
                .map(|&i| &items[i].batch.candidates)
                .collect();
            let batch = DualBatch {
                source: stack_rows(&sources, pad),
                target: None,
                candidates: stack_rows(&candidates, pad),
                n_candidates,
            };
            let output = self
                .model
                .forward(DualInput::from_batch(&batch, &self.device));
            let canonical: Vec<&[usize]> = members
                .iter()
                .map(|&i| items[i].canonical.as_slice())
                .collect();
            let scores = read_scores(output.sim, &canonical, "SimCLS forward")?;
            for (&i, scores) in members.iter().zip(scores) {
                out[i] = scores;
            }
        }
        Ok(out)
    }
}
