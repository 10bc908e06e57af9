//! SummaReranker / SimCLS candidate sub-sampling (the reference's module-level
//! `sub_sampling`, <https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/ranker.py>).

use rand::seq::{index, SliceRandom};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::order::{argsort_descending, first_occurrences, task_sum, uniform_step};
use super::CandidateMode;
use crate::dataset::ScoreMatrix;
use crate::error::DataError;

/// The candidate-sampling settings (`model.sampling` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CandidateSampling {
    /// How candidates are chosen.
    pub mode: CandidateMode,
    /// Candidates taken from the top (`top_bottom`, `top_random`) or at random above the bottom
    /// (`random_bottom`).
    pub num_pos: usize,
    /// Candidates taken from the bottom (`top_bottom`, `random_bottom`) or at random below the top
    /// (`top_random`).
    pub num_neg: usize,
    /// The fraction used by `uniform` (stride) and `random` (count).
    pub ratio: f64,
}

/// Draws the candidates each example of a batch trains on; built from a validated [`CandidateSampling`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CandidateSampler {
    config: CandidateSampling,
}

impl CandidateSampler {
    /// Checks the settings: the top/bottom modes need `num_pos + num_neg ≥ 1`; `uniform` needs `0 < ratio ≤ 1`;
    /// `random` needs a finite `ratio > 0`.
    pub fn new(config: CandidateSampling) -> Result<Self, DataError> {
        let invalid = |key, value: String, reason: &str| DataError::InvalidOption {
            key,
            value,
            reason: reason.into(),
        };
        match config.mode {
            CandidateMode::TopBottom | CandidateMode::TopRandom | CandidateMode::RandomBottom
                if config.num_pos + config.num_neg == 0 =>
            {
                Err(invalid(
                    "sampling.num_pos",
                    "0 (num_neg = 0)".into(),
                    "at least one candidate must be taken",
                ))
            }
            CandidateMode::Uniform if !(config.ratio > 0.0 && config.ratio <= 1.0) => Err(invalid(
                "sampling.ratio",
                config.ratio.to_string(),
                "uniform needs 0 < ratio <= 1",
            )),
            CandidateMode::Random if !(config.ratio > 0.0 && config.ratio.is_finite()) => {
                Err(invalid(
                    "sampling.ratio",
                    config.ratio.to_string(),
                    "random needs a finite ratio > 0",
                ))
            }
            _ => Ok(Self { config }),
        }
    }

    /// The settings.
    pub fn config(&self) -> CandidateSampling {
        self.config
    }

    /// Picks the training candidates of every example of a batch; returns, per example, indices into its
    /// candidates. "Score" below is the sum over tasks.
    ///
    /// - `top_bottom`: candidates are deduplicated by score (first kept) and sorted descending; the `num_pos`
    ///   best and `num_neg` worst are concatenated and shuffled. With fewer than `num_pos + num_neg` distinct
    ///   scores a candidate can appear twice (as in the reference's slicing).
    /// - `top_random`: the `num_pos` best, plus `num_neg` drawn without replacement from the rest.
    /// - `random_bottom`: `num_pos` drawn without replacement from all but the `num_neg` worst, plus those.
    /// - `uniform`: all candidates sorted by score descending (no dedup), every `int(n / (n·ratio))`-th taken,
    ///   then reordered by one random permutation shared by the whole batch — so every example needs the same
    ///   candidate count, else [`DataError::RaggedBatch`].
    /// - `random`: `max(int(n·ratio), 1)` distinct random candidates per example, in random order.
    /// - `none`: all candidates in order.
    ///
    /// Deviations from the reference, which crashes or misbehaves here: a zero `num_pos` / `num_neg` takes none
    /// (Python's `sorted[-0:]` would take all); `top_random` / `random_bottom` take at most what is available
    /// instead of raising; `random` takes at least one candidate.
    pub fn sample_batch<R: Rng + ?Sized>(
        &self,
        batch: &[&ScoreMatrix],
        rng: &mut R,
    ) -> Result<Vec<Vec<usize>>, DataError> {
        if self.config.mode == CandidateMode::Uniform {
            return self.uniform(batch, rng);
        }
        Ok(batch
            .iter()
            .map(|scores| self.sample_one(scores, rng))
            .collect())
    }

    fn sample_one<R: Rng + ?Sized>(&self, scores: &ScoreMatrix, rng: &mut R) -> Vec<usize> {
        let n = scores.n_candidates();
        let CandidateSampling {
            mode,
            num_pos,
            num_neg,
            ratio,
        } = self.config;
        match mode {
            CandidateMode::None => (0..n).collect(),
            CandidateMode::Random => {
                let amount = ((n as f64 * ratio) as usize).max(1).min(n);
                index::sample(rng, n, amount).into_vec()
            }
            CandidateMode::TopBottom | CandidateMode::TopRandom | CandidateMode::RandomBottom => {
                let sums: Vec<f32> = scores.rows().map(task_sum).collect();
                let unique = first_occurrences(&sums);
                let unique_sums: Vec<f32> = unique.iter().map(|&c| sums[c]).collect();
                let sorted = argsort_descending(&unique_sums);
                let u = sorted.len();
                let (top, bottom) = (num_pos.min(u), num_neg.min(u));
                let mut picked: Vec<usize> = match mode {
                    CandidateMode::TopBottom => [&sorted[..top], &sorted[u - bottom..]].concat(),
                    CandidateMode::TopRandom => {
                        let rest = &sorted[top..];
                        let drawn = index::sample(rng, rest.len(), num_neg.min(rest.len()));
                        sorted[..top]
                            .iter()
                            .copied()
                            .chain(drawn.into_iter().map(|i| rest[i]))
                            .collect()
                    }
                    _ => {
                        let rest = &sorted[..u - bottom];
                        let drawn = index::sample(rng, rest.len(), num_pos.min(rest.len()));
                        drawn
                            .into_iter()
                            .map(|i| rest[i])
                            .chain(sorted[u - bottom..].iter().copied())
                            .collect()
                    }
                };
                picked.shuffle(rng);
                picked.into_iter().map(|i| unique[i]).collect()
            }
            CandidateMode::Uniform => unreachable!("uniform is sampled per batch"),
        }
    }

    fn uniform<R: Rng + ?Sized>(
        &self,
        batch: &[&ScoreMatrix],
        rng: &mut R,
    ) -> Result<Vec<Vec<usize>>, DataError> {
        let Some(first) = batch.first() else {
            return Ok(Vec::new());
        };
        let n = first.n_candidates();
        if batch.iter().any(|scores| scores.n_candidates() != n) {
            return Err(DataError::RaggedBatch {
                mode: CandidateMode::Uniform.to_string(),
                counts: batch.iter().map(|scores| scores.n_candidates()).collect(),
            });
        }
        if n == 0 {
            return Ok(vec![Vec::new(); batch.len()]);
        }
        let step = uniform_step(n, self.config.ratio);
        debug_assert!(step >= 1, "validated ratio <= 1");
        let mut permutation: Vec<usize> = (0..n.div_ceil(step)).collect();
        permutation.shuffle(rng);
        Ok(batch
            .iter()
            .map(|scores| {
                let sums: Vec<f32> = scores.rows().map(task_sum).collect();
                let strided: Vec<usize> = argsort_descending(&sums)
                    .into_iter()
                    .step_by(step)
                    .collect();
                permutation.iter().map(|&i| strided[i]).collect()
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn sampler(
        mode: CandidateMode,
        num_pos: usize,
        num_neg: usize,
        ratio: f64,
    ) -> CandidateSampler {
        CandidateSampler::new(CandidateSampling {
            mode,
            num_pos,
            num_neg,
            ratio,
        })
        .unwrap()
    }

    fn scores(values: &[f64]) -> ScoreMatrix {
        ScoreMatrix::new(1, values.to_vec()).unwrap()
    }

    fn set(indices: &[usize]) -> HashSet<usize> {
        indices.iter().copied().collect()
    }

    #[test]
    fn top_bottom_takes_best_and_worst_distinct_scores_in_random_order() {
        // Sums: c0 0.5, c1 0.9, c2 0.9 (dup of c1), c3 0.1, c4 0.7, c5 0.1 (dup of c3).
        let rows = [
            [0.25, 0.25],
            [0.5, 0.4],
            [0.4, 0.5],
            [0.1, 0.0],
            [0.7, 0.0],
            [0.0, 0.1],
        ];
        let scores = ScoreMatrix::from_rows(&rows.map(|r| r.to_vec())).unwrap();
        let sampler = sampler(CandidateMode::TopBottom, 1, 1, 0.0);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut orders = HashSet::new();
        for _ in 0..50 {
            let picked = sampler
                .sample_batch(&[&scores], &mut rng)
                .unwrap()
                .remove(0);
            assert_eq!(set(&picked), set(&[1, 3]));
            orders.insert(picked);
        }
        assert_eq!(orders.len(), 2, "shuffled");
        let two_two = self::sampler(CandidateMode::TopBottom, 2, 2, 0.0);
        let picked = two_two
            .sample_batch(&[&scores], &mut rng)
            .unwrap()
            .remove(0);
        assert_eq!(set(&picked), set(&[1, 4, 0, 3]));
    }

    #[test]
    fn top_bottom_with_too_few_distinct_scores_repeats_like_the_reference() {
        let sampler = sampler(CandidateMode::TopBottom, 1, 1, 0.0);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let picked = sampler
            .sample_batch(&[&scores(&[0.3, 0.3, 0.3])], &mut rng)
            .unwrap();
        assert_eq!(picked, [vec![0, 0]]);
    }

    #[test]
    fn top_random_keeps_the_top_and_draws_the_rest() {
        let values = [0.1, 0.9, 0.5, 0.3, 0.7];
        let sampler = sampler(CandidateMode::TopRandom, 1, 2, 0.0);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut others = HashSet::new();
        for _ in 0..100 {
            let picked = sampler
                .sample_batch(&[&scores(&values)], &mut rng)
                .unwrap()
                .remove(0);
            assert_eq!(picked.len(), 3);
            assert!(picked.contains(&1));
            assert_eq!(set(&picked).len(), 3);
            others.extend(picked.into_iter().filter(|&c| c != 1));
        }
        assert_eq!(others, set(&[0, 2, 3, 4]));
    }

    #[test]
    fn random_bottom_keeps_the_bottom_and_draws_above_it() {
        let values = [0.1, 0.9, 0.5, 0.3, 0.7];
        let sampler = sampler(CandidateMode::RandomBottom, 2, 1, 0.0);
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut others = HashSet::new();
        for _ in 0..100 {
            let picked = sampler
                .sample_batch(&[&scores(&values)], &mut rng)
                .unwrap()
                .remove(0);
            assert_eq!(picked.len(), 3);
            assert!(picked.contains(&0));
            others.extend(picked.into_iter().filter(|&c| c != 0));
        }
        assert_eq!(others, set(&[1, 2, 3, 4]));
        // Asking for more than exists takes what there is.
        let greedy = self::sampler(CandidateMode::RandomBottom, 9, 1, 0.0);
        let picked = greedy
            .sample_batch(&[&scores(&values)], &mut rng)
            .unwrap()
            .remove(0);
        assert_eq!(set(&picked), set(&[0, 1, 2, 3, 4]));
    }

    #[test]
    fn zero_num_neg_takes_no_bottom() {
        let sampler = sampler(CandidateMode::TopBottom, 2, 0, 0.0);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let picked = sampler
            .sample_batch(&[&scores(&[0.1, 0.9, 0.5])], &mut rng)
            .unwrap()
            .remove(0);
        assert_eq!(set(&picked), set(&[1, 2]));
    }

    #[test]
    fn uniform_takes_every_step_th_of_the_sorted_list_with_one_shared_order() {
        // SimCLS setting: 11 candidates, ratio 0.3 → step 3 → sorted positions 0, 3, 6, 9.
        let a: Vec<f64> = (0..11).map(f64::from).collect(); // sorted desc: 10, 9, ..., 0 → picks 10, 7, 4, 1
        let b: Vec<f64> = (0..11).map(|i| f64::from(-i)).collect(); // sorted desc: 0, 1, ..., 10 → 0, 3, 6, 9
        let sampler = sampler(CandidateMode::Uniform, 0, 0, 0.3);
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let mut orders = HashSet::new();
        for _ in 0..50 {
            let picked = sampler
                .sample_batch(&[&scores(&a), &scores(&b)], &mut rng)
                .unwrap();
            assert_eq!(set(&picked[0]), set(&[10, 7, 4, 1]));
            assert_eq!(set(&picked[1]), set(&[0, 3, 6, 9]));
            // Same permutation of sorted positions: position p of a maps to 10 - 3p, of b to 3p.
            let positions_a: Vec<usize> = picked[0].iter().map(|&c| (10 - c) / 3).collect();
            let positions_b: Vec<usize> = picked[1].iter().map(|&c| c / 3).collect();
            assert_eq!(positions_a, positions_b);
            orders.insert(positions_a);
        }
        assert!(orders.len() > 1, "the order is random");
    }

    #[test]
    fn uniform_ties_keep_index_order_and_ragged_batches_are_errors() {
        let sampler = sampler(CandidateMode::Uniform, 0, 0, 0.5);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        // All tied: sorted = [0, 1, 2, 3, 4], step 2 → {0, 2, 4}.
        let picked = sampler
            .sample_batch(&[&scores(&[1.0; 5])], &mut rng)
            .unwrap()
            .remove(0);
        assert_eq!(set(&picked), set(&[0, 2, 4]));
        let err = sampler
            .sample_batch(&[&scores(&[1.0; 5]), &scores(&[1.0; 4])], &mut rng)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "sampling mode uniform: every example of a batch needs the same number of candidates, got [5, 4]"
        );
    }

    #[test]
    fn random_takes_max_of_int_n_ratio_and_1_distinct_candidates() {
        let sampler = sampler(CandidateMode::Random, 0, 0, 0.4);
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let values = [0.0; 11];
        for _ in 0..50 {
            let picked = sampler
                .sample_batch(&[&scores(&values)], &mut rng)
                .unwrap()
                .remove(0);
            assert_eq!(picked.len(), 4);
            assert_eq!(set(&picked).len(), 4);
        }
        let tiny = self::sampler(CandidateMode::Random, 0, 0, 0.01);
        assert_eq!(
            tiny.sample_batch(&[&scores(&values)], &mut rng).unwrap()[0].len(),
            1
        );
    }

    #[test]
    fn none_keeps_everything_in_order() {
        let sampler = sampler(CandidateMode::None, 0, 0, 0.0);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let picked = sampler
            .sample_batch(&[&scores(&[0.3, 0.1]), &scores(&[0.5])], &mut rng)
            .unwrap();
        assert_eq!(picked, [vec![0, 1], vec![0]]);
    }

    #[test]
    fn invalid_settings_name_their_key() {
        let new = |mode, num_pos, num_neg, ratio| {
            CandidateSampler::new(CandidateSampling {
                mode,
                num_pos,
                num_neg,
                ratio,
            })
            .map(|_| ())
        };
        assert!(new(CandidateMode::TopBottom, 0, 0, 0.0)
            .unwrap_err()
            .to_string()
            .starts_with("sampling.num_pos"));
        assert!(new(CandidateMode::Uniform, 0, 0, 0.0)
            .unwrap_err()
            .to_string()
            .starts_with("sampling.ratio = 0"));
        assert!(new(CandidateMode::Random, 0, 0, -1.0).is_err());
        assert!(new(CandidateMode::None, 0, 0, 0.0).is_ok());
    }
}
