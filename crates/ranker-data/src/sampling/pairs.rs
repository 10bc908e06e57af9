//! PairRanker's per-example pair sampling (`CrossCompareReranker.sampling`,
//! <https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/ranker.py>).

use rand::seq::index;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::order::{argsort_descending, first_occurrences, task_mean, uniform_step};
use super::PairMode;
use crate::dataset::{Example, ScoreMatrix};
use crate::error::DataError;

/// The pair-sampling settings (`model.sampling` in the config; reference `--sub_sampling_mode`, `--num_pos`,
/// `--num_neg`, `--sub_sampling_ratio`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairSampling {
    /// How pairs are chosen.
    pub mode: PairMode,
    /// With `num_neg`, sets k = `min(num_pos, num_neg)` pairs for `all_pair` and `top_bottom`.
    pub num_pos: usize,
    /// See `num_pos`.
    pub num_neg: usize,
    /// The fraction used by `uniform` (stride) and `random` (pair count).
    pub ratio: f64,
}

impl Default for PairSampling {
    /// The paper's MixInstruct setting: `all_pair`, 5 / 5, ratio 0.4 (PairRM's `sub_sampling_ratio`).
    fn default() -> Self {
        Self {
            mode: PairMode::AllPair,
            num_pos: 5,
            num_neg: 5,
            ratio: 0.4,
        }
    }
}

/// Two candidates of one example, by index into its candidate list: `left` goes in the `<|candidate1|>` slot,
/// `right` in `<|candidate2|>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CandidatePair {
    /// The first candidate.
    pub left: usize,
    /// The second candidate.
    pub right: usize,
}

/// Draws PairRanker training pairs; built from a validated [`PairSampling`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairSampler {
    config: PairSampling,
}

impl PairSampler {
    /// Checks the settings: `all_pair` and `top_bottom` need `min(num_pos, num_neg) ≥ 1`; `uniform` needs
    /// `0 < ratio ≤ 1` (a larger ratio gives stride 0); `random` needs a finite `ratio > 0`.
    pub fn new(config: PairSampling) -> Result<Self, DataError> {
        let invalid = |key, value: String, reason: &str| DataError::InvalidOption {
            key,
            value,
            reason: reason.into(),
        };
        match config.mode {
            PairMode::AllPair | PairMode::TopBottom if config.num_pos.min(config.num_neg) == 0 => {
                Err(invalid(
                    "sampling.num_pos",
                    format!("{} (num_neg = {})", config.num_pos, config.num_neg),
                    "min(num_pos, num_neg) pairs are drawn per example, so both must be at least 1",
                ))
            }
            PairMode::Uniform if !(config.ratio > 0.0 && config.ratio <= 1.0) => Err(invalid(
                "sampling.ratio",
                config.ratio.to_string(),
                "uniform needs 0 < ratio <= 1",
            )),
            PairMode::Random if !(config.ratio > 0.0 && config.ratio.is_finite()) => Err(invalid(
                "sampling.ratio",
                config.ratio.to_string(),
                "random needs a finite ratio > 0",
            )),
            _ => Ok(Self { config }),
        }
    }

    /// The settings.
    pub fn config(&self) -> PairSampling {
        self.config
    }

    /// Samples one example's pairs, deduplicating candidates by text (identical texts count once, the first is
    /// kept). See [`PairSampler::sample`].
    pub fn sample_example<R: Rng + ?Sized>(
        &self,
        example: &Example,
        rng: &mut R,
    ) -> Vec<CandidatePair> {
        self.sample(&example.scores, &example.candidates, rng)
    }

    /// Samples one example's pairs, as the reference does per example:
    ///
    /// 1. dedup: candidates whose `dedup_keys` equal an earlier candidate's are dropped (the reference's HEAD
    ///    compares token-id rows — pass token ids to reproduce that, or texts), leaving `u` candidates;
    /// 2. pairs by mode, over the survivors sorted by mean-over-tasks score (descending, ties in index order):
    ///    - `all_pair`: all `(i, j)`, `i < j`, in `torch.combinations` order, randomly permuted, first k =
    ///      `min(num_pos, num_neg)`; `u = 1` gives the single pair (0, 0);
    ///    - `top_bottom`: `left = sorted[..k]`, `right = sorted[u−k..]` (k capped at u), so the best meets the
    ///      k-th worst and the k-th best the worst;
    ///    - `uniform`: step = `int(u / (u·ratio))`; `left = sorted[0 : u−step : step]`,
    ///      `right = sorted[step :: step]` — possibly no pair when `step ≥ u`;
    ///    - `random`: `max(int(u·ratio), 1)` pairs, left and right drawn independently with replacement (the
    ///      reference crashes here; this is what it meant);
    /// 3. each pair is swapped with probability 0.5.
    ///
    /// Returns indices into the example's candidates. Panics when `dedup_keys` and `scores` disagree in length.
    pub fn sample<K: PartialEq, R: Rng + ?Sized>(
        &self,
        scores: &ScoreMatrix,
        dedup_keys: &[K],
        rng: &mut R,
    ) -> Vec<CandidatePair> {
        assert_eq!(
            dedup_keys.len(),
            scores.n_candidates(),
            "one dedup key per candidate"
        );
        let unique = first_occurrences(dedup_keys);
        let u = unique.len();
        if u == 0 {
            return Vec::new();
        }
        let k = self.config.num_pos.min(self.config.num_neg);
        let sorted = || {
            let keys: Vec<f32> = unique.iter().map(|&c| task_mean(scores.row(c))).collect();
            argsort_descending(&keys)
        };
        let pairs: Vec<(usize, usize)> = match self.config.mode {
            PairMode::AllPair => all_pairs(u, k, rng),
            PairMode::TopBottom => {
                let sorted = sorted();
                let k = k.min(u);
                sorted[..k]
                    .iter()
                    .copied()
                    .zip(sorted[u - k..].iter().copied())
                    .collect()
            }
            PairMode::Uniform => {
                let sorted = sorted();
                let step = uniform_step(u, self.config.ratio);
                debug_assert!(step >= 1, "validated ratio <= 1");
                let left = sorted[..u.saturating_sub(step)].iter().step_by(step);
                let right = sorted.get(step..).unwrap_or_default().iter().step_by(step);
                left.copied().zip(right.copied()).collect()
            }
            PairMode::Random => {
                let n = ((u as f64 * self.config.ratio) as usize).max(1);
                let left: Vec<usize> = (0..n).map(|_| rng.random_range(0..u)).collect();
                let right: Vec<usize> = (0..n).map(|_| rng.random_range(0..u)).collect();
                left.into_iter().zip(right).collect()
            }
        };
        pairs
            .into_iter()
            .map(|(left, right)| {
                let keep = rng.random::<f64>() < 0.5;
                let (left, right) = if keep { (left, right) } else { (right, left) };
                CandidatePair {
                    left: unique[left],
                    right: unique[right],
                }
            })
            .collect()
    }
}

/// `k` distinct pairs drawn uniformly from `torch.combinations(arange(u), 2)`, in random order; `(0, 0)` when
/// `u < 2`.
fn all_pairs<R: Rng + ?Sized>(u: usize, k: usize, rng: &mut R) -> Vec<(usize, usize)> {
    let combinations: Vec<(usize, usize)> = (0..u)
        .flat_map(|i| (i + 1..u).map(move |j| (i, j)))
        .collect();
    if combinations.is_empty() {
        return vec![(0, 0)];
    }
    let amount = k.min(combinations.len());
    index::sample(rng, combinations.len(), amount)
        .into_iter()
        .map(|i| combinations[i])
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn sampler(mode: PairMode, num_pos: usize, num_neg: usize, ratio: f64) -> PairSampler {
        PairSampler::new(PairSampling {
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

    /// Pairs as unordered {a, b} sets, to check membership without the random swap.
    fn unordered(pairs: &[CandidatePair]) -> Vec<(usize, usize)> {
        pairs
            .iter()
            .map(|p| (p.left.min(p.right), p.left.max(p.right)))
            .collect()
    }

    fn distinct_keys(n: usize) -> Vec<usize> {
        (0..n).collect()
    }

    #[test]
    fn all_pair_draws_k_distinct_pairs_of_distinct_candidates() {
        let sampler = sampler(PairMode::AllPair, 5, 5, 0.4);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let scores = scores(&[0.1, 0.5, 0.3, 0.9, 0.2, 0.7]);
        let mut seen = HashSet::new();
        for _ in 0..200 {
            let pairs = unordered(&sampler.sample(&scores, &distinct_keys(6), &mut rng));
            assert_eq!(pairs.len(), 5);
            assert_eq!(
                pairs.iter().collect::<HashSet<_>>().len(),
                5,
                "distinct pairs"
            );
            assert!(pairs.iter().all(|&(a, b)| a < b && b < 6));
            seen.extend(pairs);
        }
        assert_eq!(seen.len(), 15, "every one of C(6, 2) pairs gets drawn");
    }

    #[test]
    fn all_pair_caps_k_at_the_number_of_pairs_and_gives_0_0_for_one_candidate() {
        let sampler = sampler(PairMode::AllPair, 5, 7, 0.4);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let three =
            unordered(&sampler.sample(&scores(&[1.0, 2.0, 3.0]), &distinct_keys(3), &mut rng));
        assert_eq!(
            three.iter().collect::<HashSet<_>>(),
            [(0, 1), (0, 2), (1, 2)].iter().collect()
        );
        let one = sampler.sample(&scores(&[1.0]), &distinct_keys(1), &mut rng);
        assert_eq!(one, [CandidatePair { left: 0, right: 0 }]);
        // Three identical texts dedup to one candidate: the (0, 0) pair.
        let same = sampler.sample(&scores(&[1.0, 2.0, 3.0]), &["x", "x", "x"], &mut rng);
        assert_eq!(same, [CandidatePair { left: 0, right: 0 }]);
    }

    #[test]
    fn dedup_keeps_first_occurrences_and_maps_back_to_original_indices() {
        let sampler = sampler(PairMode::AllPair, 10, 10, 0.4);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let keys = ["a", "b", "a", "c", "b"];
        let pairs =
            unordered(&sampler.sample(&scores(&[1.0, 2.0, 3.0, 4.0, 5.0]), &keys, &mut rng));
        assert_eq!(
            pairs.iter().collect::<HashSet<_>>(),
            [(0, 1), (0, 3), (1, 3)].iter().collect()
        );
    }

    #[test]
    fn top_bottom_pairs_best_with_kth_worst() {
        // Mean scores (two tasks): c0 0.35, c1 0.8, c2 0.15, c3 0.6, c4 0.5, c5 0.05.
        // Sorted desc: [1, 3, 4, 0, 2, 5]; k = 2: left [1, 3], right sorted[4..] = [2, 5].
        let rows = [
            [0.3, 0.4],
            [0.7, 0.9],
            [0.1, 0.2],
            [0.6, 0.6],
            [0.5, 0.5],
            [0.0, 0.1],
        ];
        let scores = ScoreMatrix::from_rows(&rows.map(|r| r.to_vec())).unwrap();
        let sampler = sampler(PairMode::TopBottom, 2, 3, 0.4);
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for _ in 0..20 {
            assert_eq!(
                unordered(&sampler.sample(&scores, &distinct_keys(6), &mut rng)),
                [(1, 2), (3, 5)]
            );
        }
    }

    #[test]
    fn top_bottom_with_k_above_u_pairs_candidates_with_themselves_as_the_slicing_does() {
        // u = 3, k = 5: sorted[:5] and sorted[-5:] are both the whole sorted list.
        let sampler = sampler(PairMode::TopBottom, 5, 5, 0.4);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let pairs = sampler.sample(&scores(&[0.2, 0.9, 0.5]), &distinct_keys(3), &mut rng);
        assert_eq!(
            pairs,
            [(1, 1), (2, 2), (0, 0)].map(|(left, right)| CandidatePair { left, right })
        );
        // u = 3, k = 2: sorted [1, 2, 0] → left [1, 2], right [2, 0].
        let sampler = self::sampler(PairMode::TopBottom, 2, 2, 0.4);
        let pairs =
            unordered(&sampler.sample(&scores(&[0.2, 0.9, 0.5]), &distinct_keys(3), &mut rng));
        assert_eq!(pairs, [(1, 2), (0, 2)]);
    }

    #[test]
    fn uniform_pairs_adjacent_elements_of_the_strided_sorted_list() {
        // 11 candidates with score = index, sorted desc = [10, 9, ..., 0]; ratio 0.4 → step int(11/4.4) = 2.
        // left = sorted[0:-2:2] = [10, 8, 6, 4, 2], right = sorted[2::2] = [8, 6, 4, 2, 0].
        let values: Vec<f64> = (0..11).map(f64::from).collect();
        let sampler = sampler(PairMode::Uniform, 1, 1, 0.4);
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let pairs = unordered(&sampler.sample(&scores(&values), &distinct_keys(11), &mut rng));
        assert_eq!(pairs, [(8, 10), (6, 8), (4, 6), (2, 4), (0, 2)]);
        // ratio 0.3 → step 3: left = sorted[0:-3:3] = [10, 7, 4], right = sorted[3::3] = [7, 4, 1].
        let sampler = self::sampler(PairMode::Uniform, 1, 1, 0.3);
        let pairs = unordered(&sampler.sample(&scores(&values), &distinct_keys(11), &mut rng));
        assert_eq!(pairs, [(7, 10), (4, 7), (1, 4)]);
    }

    #[test]
    fn uniform_gives_no_pair_when_the_step_reaches_u() {
        let sampler = sampler(PairMode::Uniform, 1, 1, 0.5);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        assert!(sampler
            .sample(&scores(&[1.0]), &distinct_keys(1), &mut rng)
            .is_empty());
        assert!(sampler
            .sample(&scores(&[1.0, 2.0]), &distinct_keys(2), &mut rng)
            .is_empty());
        assert_eq!(
            sampler
                .sample(&scores(&[1.0, 2.0, 3.0]), &distinct_keys(3), &mut rng)
                .len(),
            1
        );
    }

    #[test]
    fn random_draws_max_of_int_u_ratio_and_1_pairs_with_replacement() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let values: Vec<f64> = (0..10).map(f64::from).collect();
        let sampler = sampler(PairMode::Random, 1, 1, 0.45);
        let mut self_pairs = 0;
        for _ in 0..500 {
            let pairs = sampler.sample(&scores(&values), &distinct_keys(10), &mut rng);
            assert_eq!(pairs.len(), 4); // int(10 * 0.45)
            assert!(pairs.iter().all(|p| p.left < 10 && p.right < 10));
            self_pairs += pairs.iter().filter(|p| p.left == p.right).count();
        }
        assert!(
            self_pairs > 0,
            "with replacement, a candidate can meet itself"
        );
        let tiny = self::sampler(PairMode::Random, 1, 1, 0.01);
        assert_eq!(
            tiny.sample(&scores(&values), &distinct_keys(10), &mut rng)
                .len(),
            1
        );
    }

    #[test]
    fn orientation_is_swapped_about_half_the_time() {
        let sampler = sampler(PairMode::TopBottom, 1, 1, 0.4);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let swapped = (0..4000)
            .filter(|_| {
                sampler.sample(&scores(&[0.0, 1.0]), &distinct_keys(2), &mut rng)[0].left == 0
            })
            .count();
        assert!((1800..2200).contains(&swapped), "{swapped} of 4000 swapped");
    }

    #[test]
    fn same_seed_same_pairs() {
        let sampler = sampler(PairMode::AllPair, 5, 5, 0.4);
        let values: Vec<f64> = (0..11).map(|i| f64::from(i * 7 % 11)).collect();
        let draw = |seed| {
            sampler.sample(
                &scores(&values),
                &distinct_keys(11),
                &mut ChaCha8Rng::seed_from_u64(seed),
            )
        };
        assert_eq!(draw(11), draw(11));
        assert_ne!(draw(11), draw(12));
    }

    #[test]
    fn invalid_settings_name_their_key() {
        let new = |mode, num_pos, num_neg, ratio| {
            PairSampler::new(PairSampling {
                mode,
                num_pos,
                num_neg,
                ratio,
            })
        };
        let err = new(PairMode::AllPair, 0, 5, 0.4).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("sampling.num_pos = 0 (num_neg = 5):"),
            "{err}"
        );
        assert!(new(PairMode::TopBottom, 3, 0, 0.4).is_err());
        let err = new(PairMode::Uniform, 1, 1, 1.5).unwrap_err();
        assert_eq!(
            err.to_string(),
            "sampling.ratio = 1.5: uniform needs 0 < ratio <= 1"
        );
        assert!(new(PairMode::Uniform, 1, 1, 0.0).is_err());
        assert!(new(PairMode::Random, 1, 1, f64::NAN).is_err());
        assert!(
            new(PairMode::Random, 0, 0, 2.0).is_ok(),
            "random ignores num_pos/num_neg and allows ratio > 1"
        );
    }
}
