//! [`PairRankerScorer`]: the burn PairRanker behind the [`PairScorer`] trait.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use burn::tensor::backend::Backend;
use ranker_models::checkpoint::load_pair_ranker;
use ranker_models::collate::{
    CandidatePair, CollatedPairItems, LengthBudget, PairBatch, PairCollator, RankText,
};
use ranker_models::ranker::PairRanker;

use crate::error::EvalError;
use crate::item::ItemText;
use crate::scorer::{PairRef, PairScorer};

/// A PairRanker as a [`PairScorer`]: each item is collated on its own with `ranker-models`' [`PairCollator`]
/// (the reference's `CrossCompareCollator` layout), and each batch of requests — possibly from many items — is
/// assembled into pair rows, right-padded to the longest and run through [`PairRanker::forward`].
///
/// Candidates whose token rows are identical are the same model input: each item's distinct (left, right) token
/// pairs are run once and the logit reused, so duplicate candidates tie exactly (as they do in the reference when
/// they share a batch) whatever the batching, and are not recomputed.
///
/// The per-batch length budget of the reference's collator (`candidate_maxlength + (source_maxlength −
/// longest source in the batch) / 2`, `CrossCompareCollator` in
/// <https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/collator.py>) is computed per item here, so an item's tokens do not
/// depend on which items share its batch, shard or world size. Padding can still change float summation order;
/// results agree across batchings within float noise.
///
/// The backend must not be an autodiff backend: burn's dropout is active whenever autodiff is, so a training model
/// is evaluated through [`AutodiffModule::valid`](burn::module::AutodiffModule::valid).
#[derive(Debug)]
pub struct PairRankerScorer<B: Backend> {
    model: PairRanker<B>,
    collator: PairCollator,
    device: B::Device,
}

impl<B: Backend> PairRankerScorer<B> {
    /// A scorer running `model` on `device`, tokenizing with `collator`.
    ///
    /// # Errors
    /// When `B` is an autodiff backend on `device` (dropout would stay on).
    pub fn new(
        model: PairRanker<B>,
        collator: PairCollator,
        device: B::Device,
    ) -> Result<Self, EvalError> {
        if B::ad_enabled(&device) {
            return Err(EvalError::InvalidOption {
                key: "backend",
                value: "autodiff".into(),
                reason: "evaluation runs the model without autodiff (dropout would stay on); pass \
                         `model.valid()` on the inner backend"
                    .into(),
            });
        }
        Ok(Self {
            model,
            collator,
            device,
        })
    }

    /// Loads a PairRanker checkpoint directory (ours, or the reference's PairRM / pair-ranker layout; see
    /// [`load_pair_ranker`]) with its `source_maxlength` / `candidate_maxlength`, unless `lengths` overrides them.
    ///
    /// # Errors
    /// A checkpoint for another ranker type, missing files or keys, or lengths that are not set.
    pub fn from_checkpoint(
        dir: &Path,
        base_model_dir: Option<&Path>,
        lengths: Option<(usize, usize)>,
        device: B::Device,
    ) -> Result<Self, EvalError> {
        let context = || format!("loading the PairRanker checkpoint {}", dir.display());
        let loaded = load_pair_ranker::<B>(dir, base_model_dir, &device)
            .map_err(|e| EvalError::scorer(context(), e))?;
        let (source, candidate) = match lengths {
            Some(lengths) => lengths,
            None => match (
                loaded.ranker_config.source_maxlength,
                loaded.ranker_config.candidate_maxlength,
            ) {
                (Some(s), Some(c)) => (s, c),
                _ => {
                    return Err(EvalError::InvalidOption {
                        key: "source_maxlength / candidate_maxlength",
                        value: "null".into(),
                        reason: format!(
                            "{}: the checkpoint's ranker config does not set them; pass them explicitly",
                            dir.display()
                        ),
                    })
                }
            },
        };
        let collator = PairCollator::new(loaded.tokenizer, source, candidate)
            .map_err(|e| EvalError::scorer(context(), e))?;
        Self::new(loaded.model, collator, device)
    }

    /// The model.
    pub fn model(&self) -> &PairRanker<B> {
        &self.model
    }

    /// The same scorer collating with another length budget (`fixed` for models trained with the paper-era
    /// collator).
    pub fn with_length_budget(mut self, length_budget: LengthBudget) -> Self {
        self.collator = self.collator.with_length_budget(length_budget);
        self
    }

    /// The collator.
    pub fn collator(&self) -> &PairCollator {
        &self.collator
    }
}

/// An item collated for [`PairRankerScorer`].
#[derive(Debug)]
pub struct PreparedPairItem {
    collated: CollatedPairItems,
    /// For each candidate, the first candidate with the same token row.
    canonical: Vec<usize>,
    /// Logits computed so far, by canonical (left, right).
    cache: RefCell<HashMap<(usize, usize), f64>>,
}

impl PreparedPairItem {
    /// The collated source and candidates.
    pub fn collated(&self) -> &CollatedPairItems {
        &self.collated
    }

    /// For each candidate, the index of the first candidate with identical tokens.
    pub fn canonical(&self) -> &[usize] {
        &self.canonical
    }
}

impl<B: Backend> PairScorer for PairRankerScorer<B> {
    type Prepared = PreparedPairItem;

    fn prepare(&mut self, item: &ItemText<'_>) -> Result<PreparedPairItem, EvalError> {
        let text = RankText {
            source: item.source,
            candidates: item.candidates.clone(),
        };
        let collated = self.collator.collate(&[text]).map_err(|e| {
            EvalError::scorer(
                format!("item {} (id {:?}): tokenizing", item.index, item.id),
                e,
            )
        })?;
        let rows: Vec<Vec<u32>> = (0..collated.n_candidates(0))
            .map(|c| collated.candidates.row_tokens(c))
            .collect();
        let canonical = (0..rows.len())
            .map(|c| rows.iter().position(|r| *r == rows[c]).unwrap_or(c))
            .collect();
        Ok(PreparedPairItem {
            collated,
            canonical,
            cache: RefCell::new(HashMap::new()),
        })
    }

    fn score_pairs(
        &mut self,
        pairs: &[PairRef<'_, PreparedPairItem>],
    ) -> Result<Vec<f64>, EvalError> {
        // Distinct (item, canonical left, canonical right) not yet computed, each run once.
        let key = |p: &PairRef<'_, PreparedPairItem>| {
            (p.item.canonical[p.left], p.item.canonical[p.right])
        };
        let mut todo: Vec<(usize, (usize, usize))> = Vec::new();
        for (i, p) in pairs.iter().enumerate() {
            let k = key(p);
            let queued = todo
                .iter()
                .any(|&(j, q)| q == k && std::ptr::eq(pairs[j].item, p.item));
            if !queued && !p.item.cache.borrow().contains_key(&k) {
                todo.push((i, k));
            }
        }
        if !todo.is_empty() {
            let rows = todo
                .iter()
                .map(|&(i, (left, right))| {
                    self.collator.pair_row(
                        &pairs[i].item.collated,
                        CandidatePair {
                            item: 0,
                            left,
                            right,
                        },
                    )
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| EvalError::scorer("assembling pair rows", e))?;
            let pad = self.collator.tokenizer().encoder().special().pad;
            let batch = PairBatch::from_rows(rows, pad);
            let logits = self.model.score_pairs(&batch, &self.device);
            let values = logits
                .into_data()
                .convert::<f32>()
                .into_vec::<f32>()
                .map_err(|e| EvalError::Scorer {
                    context: "reading the PairRanker logits".into(),
                    source: format!("{e:?}").into(),
                })?;
            if values.len() != todo.len() {
                return Err(EvalError::ScorerOutput {
                    what: "PairRanker forward",
                    found: values.len(),
                    expected: todo.len(),
                });
            }
            for (&(i, k), value) in todo.iter().zip(values) {
                pairs[i].item.cache.borrow_mut().insert(k, f64::from(value));
            }
        }
        Ok(pairs
            .iter()
            .map(|p| p.item.cache.borrow()[&key(p)])
            .collect())
    }
}
