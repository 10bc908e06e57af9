//! What differs between rankers in training: how a model is built or loaded, how a micro-batch is
//! prepared (collation + sub-sampling), its loss, the dev-set selection and the checkpoint layout.
//! The loop in [`crate::trainer`] is written once over [`RankerTask`].

mod backbone;
mod dev_eval;
mod listwise;
mod pair_ranker;
mod simcls;
mod summa_reranker;

use std::path::Path;

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;
use ranker_data::{Dataset, Example};
use ranker_dist::Collective;
use ranker_eval::SelectionMetrics;

use crate::error::TrainError;

pub(crate) use backbone::BackboneSetup;
pub(crate) use pair_ranker::PairTask;
pub(crate) use simcls::SimClsTask;
pub(crate) use summa_reranker::SummaTask;

/// A micro-batch ready for the forward pass, with the number of loss units it holds (pairs for
/// PairRanker, examples for the listwise rankers): the loop weights each micro-batch's mean loss by
/// its share of the units of the whole optimiser step over all ranks.
pub(crate) trait Prepared: Sized {
    fn units(&self) -> usize;

    /// The global identity of every row the model's dropout layers see, one set per kind of batch
    /// row (pairs; examples × candidates; examples): a key names the example (its index in the
    /// training set) and the pair or candidate, never the rank or the position in the micro-batch,
    /// so dropout masks do not depend on how the global batch is split.
    fn dropout_rows(&self) -> Vec<Vec<u64>>;

    /// Splits into consecutive chunks of at most `max_units` units each, in order
    /// (`train.max_pairs_per_forward`). Rankers whose loss does not decompose over units (the
    /// listwise ones; the config refuses the key for them) keep the whole micro-batch.
    fn split(self, _max_units: usize) -> Vec<Self> {
        vec![self]
    }
}

/// The dropout key of row `sub` (pair or candidate number) of training example `example`.
pub(crate) fn row_key(example: usize, sub: usize) -> u64 {
    crate::batches::mix(example as u64, sub as u64)
}

/// One ranker architecture as the training loop sees it.
pub(crate) trait RankerTask<B: AutodiffBackend>: Send + Sync + 'static {
    /// The trainable model.
    type Model: AutodiffModule<B> + Clone + Send + 'static;
    /// A prepared micro-batch (host data: it is prepared on the prefetch thread).
    type Micro: Prepared + Send + 'static;

    /// Display name (`PairRanker`, …).
    fn name(&self) -> &'static str;

    /// Collates `examples` (indices into the training set given alongside) and draws their training
    /// sub-samples; `example_seed(i)` seeds example `i`'s draws so that they do not depend on the
    /// rank or batch the example lands in.
    fn prepare(
        &self,
        examples: &[(usize, &Example)],
        example_seed: &dyn Fn(usize) -> u64,
    ) -> Result<Self::Micro, TrainError>;

    /// The mean loss of a micro-batch, `[1]`.
    fn loss(&self, model: &Self::Model, micro: &Self::Micro, device: &B::Device) -> Tensor<B, 1>;

    /// Selects a candidate per dev example with the inner (non-autodiff) model, sharded over the ranks of
    /// `collective`; `round` numbers the evaluation (fresh bubble permutations each time).
    fn evaluate(
        &self,
        model: &Self::Model,
        dev: &Dataset,
        collective: &mut dyn Collective,
        round: u64,
        device: &B::Device,
    ) -> Result<SelectionMetrics, TrainError>;

    /// Writes the model into checkpoint directory `dir` (PairRM-compatible layout).
    fn save(&self, model: &Self::Model, dir: &Path) -> Result<(), TrainError>;

    /// Loads the weights of checkpoint `dir` into `model` (same architecture and vocabulary).
    fn load_weights(
        &self,
        model: Self::Model,
        dir: &Path,
        device: &B::Device,
    ) -> Result<Self::Model, TrainError>;
}
