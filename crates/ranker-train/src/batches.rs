//! Which examples each rank sees at each micro-step: one seeded permutation per epoch, cut into
//! global batches of `world · per_device_batch · grad_accum` examples.
//!
//! Micro-step `m` of an optimiser step takes the next `world · per_device_batch` examples of the
//! global batch and rank `r` takes the `r`-th slice of `per_device_batch` of them. The layout
//! depends only on the global batch size, so `N` ranks × batch `b` see exactly the examples that
//! one rank × batch `N·b` sees, and every example is seen once per epoch (the last global batch
//! may be short; a rank may then get a short or empty slice).

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The shape of the data-parallel batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLayout {
    /// Number of ranks.
    pub world: usize,
    /// Examples per rank per micro-step.
    pub per_device_batch: usize,
    /// Micro-steps per optimiser step.
    pub grad_accum: usize,
}

impl BatchLayout {
    /// Examples per micro-step over all ranks.
    pub fn micro_examples(&self) -> usize {
        self.world * self.per_device_batch
    }

    /// Examples per optimiser step over all ranks.
    pub fn global_examples(&self) -> usize {
        self.micro_examples() * self.grad_accum
    }

    /// Optimiser steps in one epoch of `n_examples` (the last may be short).
    pub fn steps_per_epoch(&self, n_examples: usize) -> usize {
        n_examples.div_ceil(self.global_examples())
    }
}

/// The example order of one epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochOrder {
    order: Vec<usize>,
}

impl EpochOrder {
    /// A permutation of `0..n_examples` drawn from `(seed, epoch)` only.
    pub fn new(n_examples: usize, seed: u64, epoch: usize) -> Self {
        let mut order: Vec<usize> = (0..n_examples).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, epoch as u64));
        order.shuffle(&mut rng);
        Self { order }
    }

    /// The example indices rank `rank` uses at micro-step `micro` of step `step_in_epoch`.
    pub fn slice(
        &self,
        layout: &BatchLayout,
        step_in_epoch: usize,
        micro: usize,
        rank: usize,
    ) -> &[usize] {
        let start = step_in_epoch * layout.global_examples()
            + micro * layout.micro_examples()
            + rank * layout.per_device_batch;
        let start = start.min(self.order.len());
        let end = (start + layout.per_device_batch).min(self.order.len());
        &self.order[start..end]
    }

    /// All example indices of step `step_in_epoch` (every rank, every micro-step), in order.
    pub fn step_examples(&self, layout: &BatchLayout, step_in_epoch: usize) -> &[usize] {
        let start = (step_in_epoch * layout.global_examples()).min(self.order.len());
        let end = (start + layout.global_examples()).min(self.order.len());
        &self.order[start..end]
    }
}

/// Derives a sub-seed from a seed and a counter (SplitMix64 finaliser), so that seeds for
/// epochs, examples and steps never collide in practice.
pub fn mix(seed: u64, counter: u64) -> u64 {
    let mut z = seed
        ^ counter
            .wrapping_add(0x9E37_79B9_7F4A_7C15)
            .wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_once_per_epoch_for_any_world_size() {
        let n = 23;
        let order = EpochOrder::new(n, 7, 0);
        for world in 1..=4 {
            let layout = BatchLayout {
                world,
                per_device_batch: 2,
                grad_accum: 3,
            };
            let mut seen = Vec::new();
            for step in 0..layout.steps_per_epoch(n) {
                for micro in 0..layout.grad_accum {
                    for rank in 0..world {
                        seen.extend_from_slice(order.slice(&layout, step, micro, rank));
                    }
                }
            }
            assert_eq!(seen.len(), n, "world {world}");
            seen.sort();
            assert_eq!(seen, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn two_ranks_of_b_see_what_one_rank_of_2b_sees() {
        let order = EpochOrder::new(40, 3, 2);
        let two = BatchLayout {
            world: 2,
            per_device_batch: 3,
            grad_accum: 2,
        };
        let one = BatchLayout {
            world: 1,
            per_device_batch: 6,
            grad_accum: 2,
        };
        for step in 0..two.steps_per_epoch(40) {
            for micro in 0..2 {
                let mut joined = order.slice(&two, step, micro, 0).to_vec();
                joined.extend_from_slice(order.slice(&two, step, micro, 1));
                assert_eq!(joined, order.slice(&one, step, micro, 0));
            }
            assert_eq!(
                order.step_examples(&two, step),
                order.step_examples(&one, step)
            );
        }
    }

    #[test]
    fn epochs_and_seeds_differ() {
        assert_ne!(EpochOrder::new(50, 1, 0), EpochOrder::new(50, 1, 1));
        assert_ne!(EpochOrder::new(50, 1, 0), EpochOrder::new(50, 2, 0));
        assert_eq!(EpochOrder::new(50, 1, 0), EpochOrder::new(50, 1, 0));
    }
}
