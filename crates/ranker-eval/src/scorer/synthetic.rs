//! A deterministic, model-free pairwise scorer for tests and benchmarks.

use super::base::{ListScorer, PairRef, PairScorer};
use crate::error::EvalError;
use crate::item::ItemText;
use crate::rng::{fnv1a, splitmix64, unit_f64};

/// A synthetic pairwise (and listwise) scorer: not a model. Each candidate gets a "quality" from a hash of the
/// source and its text, and
///
/// ```text
/// f(i, j) = q(i) − q(j) + bias · b(i, j),   b(i, j) ∈ [−1, 1) a hash of (source, text i, text j)
/// ```
///
/// so `f` is not antisymmetric (like a real PairRanker, it has a position bias) and depends only on the texts:
/// the same request always gets the same value, whatever else is batched with it.
///
/// `work_per_pair` spends that many rounds of integer hashing per request, to simulate a model's cost in
/// benchmarks (0 in tests).
#[derive(Clone, Debug)]
pub struct SyntheticScorer {
    /// Weight of the order-dependent term.
    pub bias: f64,
    /// Rounds of busy hashing per scored pair (or per candidate when listwise).
    pub work_per_pair: u32,
    /// Requests scored so far.
    pub calls: u64,
}

impl Default for SyntheticScorer {
    fn default() -> Self {
        Self {
            bias: 0.25,
            work_per_pair: 0,
            calls: 0,
        }
    }
}

/// A prepared item of [`SyntheticScorer`]: the hashes of its source and candidates.
#[derive(Clone, Debug)]
pub struct SyntheticItem {
    source: u64,
    candidates: Vec<u64>,
}

impl SyntheticScorer {
    /// A scorer that spends `work_per_pair` hashing rounds per request.
    pub fn with_work(work_per_pair: u32) -> Self {
        Self {
            work_per_pair,
            ..Self::default()
        }
    }

    fn quality(item: &SyntheticItem, candidate: usize) -> f64 {
        unit_f64(splitmix64(item.source ^ item.candidates[candidate]))
    }

    fn burn_cycles(&self, seed: u64) -> u64 {
        let mut state = seed;
        for _ in 0..self.work_per_pair {
            state = splitmix64(state);
        }
        state
    }

    fn pair_value(&self, item: &SyntheticItem, left: usize, right: usize) -> f64 {
        let order = splitmix64(
            item.source
                ^ item.candidates[left].rotate_left(17)
                ^ item.candidates[right].rotate_left(41),
        );
        let b = 2.0 * unit_f64(order) - 1.0;
        Self::quality(item, left) - Self::quality(item, right) + self.bias * b
    }
}

fn prepare_item(item: &ItemText<'_>) -> SyntheticItem {
    SyntheticItem {
        source: fnv1a(item.source.as_bytes()),
        candidates: item
            .candidates
            .iter()
            .map(|c| fnv1a(c.as_bytes()))
            .collect(),
    }
}

impl PairScorer for SyntheticScorer {
    type Prepared = SyntheticItem;

    fn prepare(&mut self, item: &ItemText<'_>) -> Result<SyntheticItem, EvalError> {
        Ok(prepare_item(item))
    }

    fn score_pairs(&mut self, pairs: &[PairRef<'_, SyntheticItem>]) -> Result<Vec<f64>, EvalError> {
        self.calls += pairs.len() as u64;
        let mut sink = 0u64;
        let values = pairs
            .iter()
            .map(|p| {
                sink ^= self.burn_cycles(p.left as u64 ^ (p.right as u64) << 32);
                self.pair_value(p.item, p.left, p.right)
            })
            .collect();
        std::hint::black_box(sink);
        Ok(values)
    }
}

impl ListScorer for SyntheticScorer {
    type Prepared = SyntheticItem;

    fn prepare(&mut self, item: &ItemText<'_>) -> Result<SyntheticItem, EvalError> {
        Ok(prepare_item(item))
    }

    fn score_lists(&mut self, items: &[&SyntheticItem]) -> Result<Vec<Vec<f64>>, EvalError> {
        self.calls += items.len() as u64;
        Ok(items
            .iter()
            .map(|item| {
                (0..item.candidates.len())
                    .map(|c| {
                        std::hint::black_box(self.burn_cycles(c as u64));
                        Self::quality(item, c)
                    })
                    .collect()
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item<'a>(candidates: Vec<&'a str>) -> ItemText<'a> {
        ItemText {
            index: 0,
            id: "x",
            source: "src",
            candidates,
        }
    }

    #[test]
    fn values_depend_on_texts_and_order_only() {
        let mut scorer = SyntheticScorer::default();
        let a = PairScorer::prepare(&mut scorer, &item(vec!["a", "b", "c"])).unwrap();
        let b = PairScorer::prepare(&mut scorer, &item(vec!["c", "a"])).unwrap();
        let v = scorer
            .score_pairs(&[
                PairRef {
                    item: &a,
                    left: 0,
                    right: 2,
                },
                PairRef {
                    item: &b,
                    left: 1,
                    right: 0,
                },
                PairRef {
                    item: &a,
                    left: 2,
                    right: 0,
                },
            ])
            .unwrap();
        assert_eq!(v[0], v[1]);
        assert_ne!(v[0], -v[2], "the bias term makes f asymmetric");
        assert_eq!(scorer.calls, 3);
    }
}
