//! `rank`, `compare`, `rank_with_ref` and `best_of_n` over one chunk of items.

use std::str::FromStr;

use ranker_metrics::competition_ranks;

use super::io::{BestOfNOutput, CompareInput, CompareOutput, RankInput, RankOutput};
use crate::error::EvalError;
use crate::inference::{
    bubble_return_all_order, check_items, predict_pairwise, prepare_pairs, score_requests,
    Aggregation, BatchOptions, BubbleOptions, InferenceStats, PairInference, PairRequest,
};
use crate::item::ItemText;
use crate::scorer::PairScorer;

/// Which candidate `rank_with_ref` compares against when no explicit reference is given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RefMode {
    /// The longest candidate (the first of equal length), by Unicode characters as Python's `len`.
    #[default]
    Longest,
    /// The shortest candidate (the first of equal length).
    Shortest,
    /// Element `n / 2` of the candidates stably sorted by length.
    MedianLength,
    /// The first candidate.
    First,
    /// The last candidate.
    Last,
}

impl FromStr for RefMode {
    type Err = EvalError;

    fn from_str(s: &str) -> Result<Self, EvalError> {
        Ok(match s {
            "longest" => RefMode::Longest,
            "shortest" => RefMode::Shortest,
            "median_length" => RefMode::MedianLength,
            "first" => RefMode::First,
            "last" => RefMode::Last,
            other => {
                return Err(EvalError::InvalidOption {
                    key: "ref_mode",
                    value: other.to_owned(),
                    reason: "expected longest, shortest, median_length, first or last".into(),
                })
            }
        })
    }
}

impl RefMode {
    /// The index of the reference among `candidates` (non-empty), as `rank_with_ref` picks it.
    pub fn pick(self, candidates: &[String]) -> usize {
        let len = |i: usize| candidates[i].chars().count();
        let n = candidates.len();
        match self {
            // Python's max/min return the first extreme element.
            RefMode::Longest => (0..n).fold(0, |best, i| if len(i) > len(best) { i } else { best }),
            RefMode::Shortest => {
                (0..n).fold(0, |best, i| if len(i) < len(best) { i } else { best })
            }
            RefMode::MedianLength => {
                let mut order: Vec<usize> = (0..n).collect();
                order.sort_by_key(|&i| len(i));
                order[n / 2]
            }
            RefMode::First => 0,
            RefMode::Last => n - 1,
        }
    }
}

struct Owned {
    ids: Vec<String>,
    sources: Vec<String>,
}

impl Owned {
    fn new(inputs: &[RankInput]) -> Self {
        Self {
            ids: inputs
                .iter()
                .map(|i| i.id.as_ref().map(ToString::to_string).unwrap_or_default())
                .collect(),
            sources: inputs.iter().map(RankInput::source).collect(),
        }
    }

    fn items<'a>(&'a self, first_index: usize, candidates: &'a [Vec<String>]) -> Vec<ItemText<'a>> {
        (0..self.ids.len())
            .map(|i| ItemText {
                index: first_index + i,
                id: &self.ids[i],
                source: &self.sources[i],
                candidates: candidates[i].iter().map(String::as_str).collect(),
            })
            .collect()
    }
}

/// `Blender.rank`: full matrix + max-logits → scores and competition ranks, per item. `first_index` is the index
/// of `inputs[0]` in the whole stream (for error messages).
pub fn rank<S: PairScorer>(
    scorer: &mut S,
    first_index: usize,
    inputs: &[RankInput],
    batch: &BatchOptions,
    stats: &mut InferenceStats,
) -> Result<Vec<RankOutput>, EvalError> {
    let owned = Owned::new(inputs);
    let candidates: Vec<Vec<String>> = inputs.iter().map(|i| i.candidates.clone()).collect();
    let items = owned.items(first_index, &candidates);
    let (predictions, run) = predict_pairwise(
        scorer,
        &items,
        &PairInference::Full(Aggregation::MaxLogits),
        batch,
        false,
    )?;
    stats.add(&run);
    Ok(predictions
        .into_iter()
        .map(|p| RankOutput {
            scores: p.scores,
            ranks: p.ranks,
        })
        .collect())
}

/// `Blender.compare` in its default `"[A,B]+[B,A]"` mode: `M_AB − M_BA` (2 forwards per pair).
pub fn compare<S: PairScorer>(
    scorer: &mut S,
    first_index: usize,
    inputs: &[CompareInput],
    batch: &BatchOptions,
    stats: &mut InferenceStats,
) -> Result<Vec<CompareOutput>, EvalError> {
    let as_rank: Vec<RankInput> = inputs
        .iter()
        .map(|c| RankInput {
            id: c.id.clone(),
            instruction: c.instruction.clone(),
            input: c.input.clone(),
            candidates: vec![c.candidate_a.clone(), c.candidate_b.clone()],
            reference: None,
        })
        .collect();
    let owned = Owned::new(&as_rank);
    let candidates: Vec<Vec<String>> = as_rank.iter().map(|i| i.candidates.clone()).collect();
    let items = owned.items(first_index, &candidates);
    let (predictions, run) = predict_pairwise(
        scorer,
        &items,
        &PairInference::Full(Aggregation::MaxLogits),
        batch,
        true,
    )?;
    stats.add(&run);
    Ok(predictions
        .into_iter()
        .map(|p| {
            let m = p.matrix.expect("full mode keeps the matrix when asked");
            let logit = m[1] - m[2];
            CompareOutput {
                logit,
                a_better: logit > 0.0,
            }
        })
        .collect())
}

/// `Blender.rank_with_ref`: each candidate `c` against a reference `r` (the input's `reference`, else the candidate
/// `ref_mode` picks), `score(c) = −(M(r, c) − M(c, r))`, so a larger score means `c` beats the reference by more;
/// 2 forwards per candidate (the reference is compared with itself too, as the reference does).
pub fn rank_with_ref<S: PairScorer>(
    scorer: &mut S,
    first_index: usize,
    inputs: &[RankInput],
    ref_mode: RefMode,
    batch: &BatchOptions,
    stats: &mut InferenceStats,
) -> Result<Vec<RankOutput>, EvalError> {
    batch.validate()?;
    let owned = Owned::new(inputs);
    let plain: Vec<Vec<String>> = inputs.iter().map(|i| i.candidates.clone()).collect();
    check_items(&owned.items(first_index, &plain))?;
    let augmented: Vec<Vec<String>> = inputs
        .iter()
        .map(|input| {
            let reference = input
                .reference
                .clone()
                .unwrap_or_else(|| input.candidates[ref_mode.pick(&input.candidates)].clone());
            std::iter::once(reference)
                .chain(input.candidates.iter().cloned())
                .collect()
        })
        .collect();
    let items = owned.items(first_index, &augmented);
    let mut run = InferenceStats::default();
    let started = std::time::Instant::now();
    let prepared = prepare_pairs(scorer, &items, &mut run)?;
    let requests: Vec<PairRequest> = items
        .iter()
        .enumerate()
        .flat_map(|(slot, item)| {
            (1..item.n_candidates()).flat_map(move |c| {
                [
                    PairRequest {
                        slot,
                        left: 0,
                        right: c,
                    },
                    PairRequest {
                        slot,
                        left: c,
                        right: 0,
                    },
                ]
            })
        })
        .collect();
    let logits = score_requests(
        scorer,
        &items,
        &prepared,
        &requests,
        batch.batch_size,
        &mut run,
    )?;
    run.wall_time = started.elapsed();
    stats.add(&run);
    let mut logits = logits.chunks_exact(2);
    items
        .iter()
        .map(|item| {
            let scores: Vec<f64> = (1..item.n_candidates())
                .map(|_| {
                    let pair = logits.next().expect("two logits per candidate");
                    -(pair[0] - pair[1])
                })
                .collect();
            let ranks = competition_ranks(&scores)
                .map_err(|e| EvalError::at_item(item.index, item.id, e))?;
            Ok(RankOutput { scores, ranks })
        })
        .collect()
}

/// `Blender.get_best_of_n` with bubble comparison: the winner of `bubble.num_runs` passes over a permutation
/// seeded by `(bubble.seed, bubble.round, stream index)`; with `return_all`, the reference's order too.
pub fn best_of_n<S: PairScorer>(
    scorer: &mut S,
    first_index: usize,
    inputs: &[RankInput],
    bubble: &BubbleOptions,
    return_all: bool,
    batch: &BatchOptions,
    stats: &mut InferenceStats,
) -> Result<Vec<BestOfNOutput>, EvalError> {
    let owned = Owned::new(inputs);
    let candidates: Vec<Vec<String>> = inputs.iter().map(|i| i.candidates.clone()).collect();
    let items = owned.items(first_index, &candidates);
    let (predictions, run) = predict_pairwise(
        scorer,
        &items,
        &PairInference::Bubble(*bubble),
        batch,
        false,
    )?;
    stats.add(&run);
    Ok(predictions
        .into_iter()
        .zip(inputs)
        .map(|(p, input)| {
            let steps = p.bubble.expect("bubble mode records its steps");
            BestOfNOutput {
                best: p.selected as u32,
                candidate: input.candidates[p.selected].clone(),
                order: return_all.then(|| {
                    bubble_return_all_order(&steps)
                        .into_iter()
                        .map(|c| c as u32)
                        .collect()
                }),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn reference_modes_pick_as_python() {
        let c = candidates(&["bb", "a", "ccc", "dd", "é€"]);
        assert_eq!(RefMode::Longest.pick(&c), 2);
        assert_eq!(RefMode::Shortest.pick(&c), 1);
        // Stable sort by length: a(1), bb(2), dd(2), é€(2), ccc(3) → element 2 is "dd".
        assert_eq!(RefMode::MedianLength.pick(&c), 3);
        assert_eq!(RefMode::First.pick(&c), 0);
        assert_eq!(RefMode::Last.pick(&c), 4);
        assert!("middle"
            .parse::<RefMode>()
            .unwrap_err()
            .to_string()
            .starts_with("ref_mode = middle"));
    }
}
