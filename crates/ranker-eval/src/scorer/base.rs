//! [`PairScorer`] (PairRanker) and [`ListScorer`] (SummaReranker, SimCLS).

use crate::error::EvalError;
use crate::item::ItemText;

/// One comparison request: candidate `left` of `item` in the first slot, `right` in the second.
#[derive(Debug)]
pub struct PairRef<'a, P> {
    /// The prepared item.
    pub item: &'a P,
    /// Candidate in slot 1 (`<|candidate1|>`).
    pub left: usize,
    /// Candidate in slot 2 (`<|candidate2|>`).
    pub right: usize,
}

impl<P> Clone for PairRef<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for PairRef<'_, P> {}

/// A pairwise model: `f(i, j)`, one logit per (item, i, j) request, positive when candidate `i` is better.
///
/// Inference calls [`PairScorer::prepare`] once per item (tokenize, collate) and then
/// [`PairScorer::score_pairs`] with batches of at most `batch_size` requests that may mix items. A scorer must
/// give each request the same value whatever else is in its batch (up to float noise: a batched forward may sum in
/// another order); results are then independent of sharding and batching.
pub trait PairScorer {
    /// What the scorer keeps per item between calls.
    type Prepared;

    /// Prepares one item. Errors name the item (`item.index`, `item.id`).
    fn prepare(&mut self, item: &ItemText<'_>) -> Result<Self::Prepared, EvalError>;

    /// One logit per request, in request order.
    fn score_pairs(&mut self, pairs: &[PairRef<'_, Self::Prepared>])
        -> Result<Vec<f64>, EvalError>;
}

impl<S: PairScorer + ?Sized> PairScorer for &mut S {
    type Prepared = S::Prepared;

    fn prepare(&mut self, item: &ItemText<'_>) -> Result<Self::Prepared, EvalError> {
        (**self).prepare(item)
    }

    fn score_pairs(
        &mut self,
        pairs: &[PairRef<'_, Self::Prepared>],
    ) -> Result<Vec<f64>, EvalError> {
        (**self).score_pairs(pairs)
    }
}

/// A listwise model: one score per candidate, higher is better (SummaReranker's `sigmoid(mean_T pred)`, SimCLS's
/// cosine similarity).
///
/// Inference calls [`ListScorer::prepare`] once per item and [`ListScorer::score_lists`] with batches of at most
/// `batch_size` items.
pub trait ListScorer {
    /// What the scorer keeps per item between calls.
    type Prepared;

    /// Prepares one item. Errors name the item.
    fn prepare(&mut self, item: &ItemText<'_>) -> Result<Self::Prepared, EvalError>;

    /// The candidate scores of each item, in item order.
    fn score_lists(&mut self, items: &[&Self::Prepared]) -> Result<Vec<Vec<f64>>, EvalError>;
}

impl<S: ListScorer + ?Sized> ListScorer for &mut S {
    type Prepared = S::Prepared;

    fn prepare(&mut self, item: &ItemText<'_>) -> Result<Self::Prepared, EvalError> {
        (**self).prepare(item)
    }

    fn score_lists(&mut self, items: &[&Self::Prepared]) -> Result<Vec<Vec<f64>>, EvalError> {
        (**self).score_lists(items)
    }
}
