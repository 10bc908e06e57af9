//! What SummaReranker and SimCLS training share: the candidate sub-sampling of `model.sampling`
//! (`sub_sampling`, <https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/ranker.py>), its seeding, and the rectangle the listwise models need.
//!
//! The listwise losses have batch-level terms (SummaReranker's MoE load-balancing loss, SimCLS's `uniform`
//! order shared by a micro-batch), so splitting a global batch over ranks or micro-steps changes them slightly:
//! the N ranks × batch b ≡ 1 rank × batch N·b equivalence of the loop is exact only for PairRanker. Each
//! example counts as one loss unit.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use ranker_data::{CandidateMode, CandidateSampler, CandidateSampling, Example};

use crate::batches::mix;
use crate::config::{Config, SamplingMode};
use crate::error::TrainError;

/// `model.sampling` of a resolved config as the data crate's candidate sampling.
pub(crate) fn candidate_sampling(config: &Config) -> CandidateSampling {
    let s = &config.model.sampling;
    let mode = match s.mode.expect("resolved config") {
        SamplingMode::TopBottom => CandidateMode::TopBottom,
        SamplingMode::TopRandom => CandidateMode::TopRandom,
        SamplingMode::RandomBottom => CandidateMode::RandomBottom,
        SamplingMode::Uniform => CandidateMode::Uniform,
        SamplingMode::Random => CandidateMode::Random,
        SamplingMode::None => CandidateMode::None,
        SamplingMode::AllPair => unreachable!("validated: all_pair is a PairRanker sampling mode"),
    };
    CandidateSampling {
        mode,
        num_pos: s.num_pos.expect("resolved config"),
        num_neg: s.num_neg.expect("resolved config"),
        ratio: s.ratio.expect("resolved config"),
    }
}

/// Draws the training candidates of a micro-batch: per example from its own seed (`example_seed`), so that an
/// example's draw does not depend on the rank or the micro-batch it lands in — except in `uniform` mode,
/// whose one random order is shared by the micro-batch (as the reference's) and seeded from all its examples'
/// seeds.
///
/// Every example must end up with the same number of candidates (the models take `[batch, candidates]`
/// rectangles); otherwise the error names the first example that differs. Examples may have different
/// candidate counts as long as their draws agree (e.g. `top_bottom`), except in `uniform` mode.
pub(crate) fn sample_candidates(
    sampler: &CandidateSampler,
    examples: &[(usize, &Example)],
    example_seed: &dyn Fn(usize) -> u64,
    ranker: &str,
) -> Result<Vec<Vec<usize>>, TrainError> {
    let selected = if sampler.config().mode == CandidateMode::Uniform {
        let counts: Vec<_> = examples
            .iter()
            .map(|&(index, e)| (index, e, e.n_candidates()))
            .collect();
        same_count(&counts, ("has", "candidates"), ranker)?;
        let seed = examples
            .iter()
            .fold(0, |acc, &(index, _)| mix(acc, example_seed(index)));
        let scores: Vec<_> = examples.iter().map(|(_, e)| &e.scores).collect();
        sampler.sample_batch(&scores, &mut ChaCha8Rng::seed_from_u64(seed))?
    } else {
        examples
            .iter()
            .map(|&(index, example)| {
                let mut rng = ChaCha8Rng::seed_from_u64(example_seed(index));
                let mut picked = sampler.sample_batch(&[&example.scores], &mut rng)?;
                Ok(picked.remove(0))
            })
            .collect::<Result<Vec<_>, TrainError>>()?
    };
    let drawn: Vec<_> = examples
        .iter()
        .zip(&selected)
        .map(|(&(index, example), picked)| (index, example, picked.len()))
        .collect();
    same_count(&drawn, ("draws", "training candidates"), ranker)?;
    Ok(selected)
}

/// The dropout row keys of a listwise micro-batch: one per example, one per drawn candidate
/// (keyed by the candidate's index in its example).
pub(crate) fn listwise_row_keys(
    examples: &[(usize, &Example)],
    selected: &[Vec<usize>],
) -> (Vec<u64>, Vec<u64>) {
    let example_keys = examples
        .iter()
        .map(|&(i, _)| super::row_key(i, 0))
        .collect();
    let candidate_keys = examples
        .iter()
        .zip(selected)
        .flat_map(|(&(i, _), picked)| picked.iter().map(move |&c| super::row_key(i, c + 1)))
        .collect();
    (example_keys, candidate_keys)
}

/// Fails, naming the first example that differs, unless the counts of `(index, example, count)` agree.
fn same_count(
    counts: &[(usize, &Example, usize)],
    (verb, noun): (&str, &str),
    ranker: &str,
) -> Result<(), TrainError> {
    let Some(&(first_index, first, expected)) = counts.first() else {
        return Ok(());
    };
    match counts.iter().find(|c| c.2 != expected) {
        None => Ok(()),
        Some(&(index, example, count)) => Err(TrainError::Setup {
            key: "data.train",
            message: format!(
                "example {index} (id {:?}) {verb} {count} {noun} but example {first_index} (id {:?}) in the \
                 same micro-batch {verb} {expected}; {ranker} trains on [batch, candidates] rectangles, so give \
                 every example the same candidate count (data.n_candidates, data.candidate_models)",
                example.id, first.id,
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ranker_data::ScoreMatrix;

    use super::*;

    fn example(id: &str, sums: &[f64]) -> Example {
        Example {
            id: id.into(),
            source: "s".into(),
            target: "t".into(),
            candidates: sums.iter().map(|s| format!("c{s}")).collect(),
            models: sums.iter().map(|_| Arc::from("m")).collect(),
            scores: ScoreMatrix::new(1, sums.to_vec()).unwrap(),
            cmp_results: None,
        }
    }

    fn sampler(mode: CandidateMode) -> CandidateSampler {
        CandidateSampler::new(CandidateSampling {
            mode,
            num_pos: 1,
            num_neg: 1,
            ratio: 0.5,
        })
        .unwrap()
    }

    #[test]
    fn an_example_draws_the_same_candidates_in_any_micro_batch() {
        let (a, b, c) = (
            example("a", &[0.1, 0.9, 0.5, 0.3]),
            example("b", &[0.4, 0.2, 0.8]),
            example("c", &[0.7, 0.6, 0.1, 0.2, 0.9]),
        );
        let seed = |i: usize| mix(99, i as u64);
        let sampler = sampler(CandidateMode::TopBottom);
        let together =
            sample_candidates(&sampler, &[(0, &a), (1, &b), (2, &c)], &seed, "X").unwrap();
        let alone = sample_candidates(&sampler, &[(1, &b)], &seed, "X").unwrap();
        assert_eq!(together[1], alone[0]);
        let mut best_worst = together[0].clone();
        best_worst.sort_unstable();
        assert_eq!(best_worst, [0, 1]);
    }

    #[test]
    fn ragged_batches_name_the_example() {
        let (a, b) = (example("a", &[0.1, 0.9, 0.5]), example("b/7", &[0.4, 0.2]));
        let seed = |i: usize| i as u64;
        let err = sample_candidates(
            &sampler(CandidateMode::Uniform),
            &[(3, &a), (8, &b)],
            &seed,
            "SimCLS",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with(
                "data.train: example 8 (id \"b/7\") has 2 candidates but example 3 (id \"a\")"
            ),
            "{err}"
        );
        assert!(!err.contains('\n'));
        // `none` keeps every candidate: the draws differ in length.
        let err = sample_candidates(
            &sampler(CandidateMode::None),
            &[(3, &a), (8, &b)],
            &seed,
            "SummaReranker",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("draws 2 training candidates but example 3 (id \"a\") in the same micro-batch draws 3"),
            "{err}"
        );
        // `top_bottom` draws two of each: different counts train together.
        assert!(sample_candidates(
            &sampler(CandidateMode::TopBottom),
            &[(3, &a), (8, &b)],
            &seed,
            "SummaReranker",
        )
        .is_ok());
    }
}
