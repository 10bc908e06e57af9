//! `rank`, `compare`, `rank_with_ref` and `best_of_n` over one chunk of items.

use std::str::FromStr;

use ranker_metrics::competition_ranks;

use super::io::{BestOfNOutput, CompareInput, CompareOutput, RankInput, RankOutput};
use crate::error::EvalError;
use crate::inference::{
    bubble_return_all_order, check_items, predict_pairwise, prepare_pairs, score_requests,
    Aggregation, BatchOptions, BubbleOptions, BubbleTarget, InferenceStats, PairInference,
    PairRequest,
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

/// Which orders `compare` runs (`Blender.compare`'s `mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CompareOrder {
    /// `"[A,B]+[B,A]"`: `f(A, B) − f(B, A)`, free of position bias (2 forwards).
    #[default]
    Both,
    /// `"[A,B]"`: the single forward `f(A, B)`.
    AB,
    /// `"[B,A]"`: the single forward `f(B, A)`.
    BA,
}

impl FromStr for CompareOrder {
    type Err = EvalError;

    fn from_str(s: &str) -> Result<Self, EvalError> {
        Ok(match s {
            "both" => CompareOrder::Both,
            "ab" => CompareOrder::AB,
            "ba" => CompareOrder::BA,
            other => {
                return Err(EvalError::InvalidOption {
                    key: "order",
                    value: other.to_owned(),
                    reason: "expected both, ab or ba".into(),
                })
            }
        })
    }
}

/// How best-of-n / worst-of-n compares (`get_best_of_n`'s `pairrm_cmp_type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SelectMode {
    /// Every ordered pair (n(n − 1) forwards), then the candidates by rank.
    Full,
    /// One bubble pass over a seeded permutation (2(n − 1) forwards), the reference's default.
    #[default]
    Bubble,
}

impl FromStr for SelectMode {
    type Err = EvalError;

    fn from_str(s: &str) -> Result<Self, EvalError> {
        Ok(match s {
            "full" => SelectMode::Full,
            "bubble" => SelectMode::Bubble,
            other => {
                return Err(EvalError::InvalidOption {
                    key: "mode",
                    value: other.to_owned(),
                    reason: "expected full or bubble".into(),
                })
            }
        })
    }
}

/// Candidate indices by rank, best first (`target` best) or worst first (`target` worst); ties by index, as
/// numpy's stable small-array `argsort(ranks)` / `argsort(-ranks)` in `get_topk_candidates_from_ranks`.
pub fn order_by_ranks(ranks: &[u32], target: BubbleTarget) -> Vec<usize> {
    let mut order: Vec<usize> = (0..ranks.len()).collect();
    match target {
        BubbleTarget::Best => order.sort_by_key(|&i| ranks[i]),
        BubbleTarget::Worst => order.sort_by_key(|&i| std::cmp::Reverse(ranks[i])),
    }
    order
}

/// The best-of-n line of a candidate order (selected candidate first).
pub(crate) fn select_output(
    input: &RankInput,
    order: Vec<usize>,
    return_all: bool,
) -> BestOfNOutput {
    BestOfNOutput {
        best: order[0] as u32,
        candidate: input.candidates[order[0]].clone(),
        order: return_all.then(|| order.into_iter().map(|c| c as u32).collect()),
    }
}

pub(crate) fn compare_as_rank(inputs: &[CompareInput]) -> Vec<RankInput> {
    inputs
        .iter()
        .map(|c| RankInput {
            id: c.id.clone(),
            instruction: c.instruction.clone(),
            input: c.input.clone(),
            candidates: vec![c.candidate_a.clone(), c.candidate_b.clone()],
            reference: None,
        })
        .collect()
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

/// `Blender.compare`: with [`CompareOrder::Both`] (the reference's default `"[A,B]+[B,A]"`) `M_AB − M_BA`
/// (2 forwards per pair), else the single forward of the order asked for.
pub fn compare<S: PairScorer>(
    scorer: &mut S,
    first_index: usize,
    inputs: &[CompareInput],
    order: CompareOrder,
    batch: &BatchOptions,
    stats: &mut InferenceStats,
) -> Result<Vec<CompareOutput>, EvalError> {
    let as_rank = compare_as_rank(inputs);
    let owned = Owned::new(&as_rank);
    let candidates: Vec<Vec<String>> = as_rank.iter().map(|i| i.candidates.clone()).collect();
    let items = owned.items(first_index, &candidates);
    let (left, right) = match order {
        CompareOrder::Both => {
            let (predictions, run) = predict_pairwise(
                scorer,
                &items,
                &PairInference::Full(Aggregation::MaxLogits),
                batch,
                true,
            )?;
            stats.add(&run);
            return Ok(predictions
                .into_iter()
                .map(|p| {
                    let m = p.matrix.expect("full mode keeps the matrix when asked");
                    let logit = m[1] - m[2];
                    CompareOutput {
                        logit,
                        a_better: logit > 0.0,
                    }
                })
                .collect());
        }
        CompareOrder::AB => (0, 1),
        CompareOrder::BA => (1, 0),
    };
    batch.validate()?;
    check_items(&items)?;
    let mut run = InferenceStats::default();
    let started = std::time::Instant::now();
    let prepared = prepare_pairs(scorer, &items, &mut run)?;
    let requests: Vec<PairRequest> = (0..items.len())
        .map(|slot| PairRequest { slot, left, right })
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
    Ok(logits
        .into_iter()
        .map(|logit| CompareOutput {
            logit,
            a_better: if order == CompareOrder::AB {
                logit > 0.0
            } else {
                logit < 0.0
            },
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

/// `Blender.get_best_of_n` / `get_worst_of_n` (`bubble.target`). [`SelectMode::Bubble`]: the winner of
/// `bubble.num_runs` passes over a permutation seeded by `(bubble.seed, bubble.round, stream index)`, with
/// `return_all` the reference's order too. [`SelectMode::Full`]: [`rank`], then the candidates by rank
/// ([`order_by_ranks`]).
#[allow(clippy::too_many_arguments)]
pub fn best_of_n<S: PairScorer>(
    scorer: &mut S,
    first_index: usize,
    inputs: &[RankInput],
    mode: SelectMode,
    bubble: &BubbleOptions,
    return_all: bool,
    batch: &BatchOptions,
    stats: &mut InferenceStats,
) -> Result<Vec<BestOfNOutput>, EvalError> {
    if mode == SelectMode::Full {
        let ranked = rank(scorer, first_index, inputs, batch, stats)?;
        return Ok(ranked
            .iter()
            .zip(inputs)
            .map(|(r, input)| {
                select_output(input, order_by_ranks(&r.ranks, bubble.target), return_all)
            })
            .collect());
    }
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
            let mut order = bubble_return_all_order(&steps);
            if order.is_empty() {
                order.push(p.selected);
            }
            debug_assert_eq!(order[0], p.selected);
            select_output(input, order, return_all)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_rank_break_ties_by_index() {
        // ranks [1, 3, 1]: numpy argsort → [0, 2, 1]; argsort(−ranks) → [1, 0, 2]
        assert_eq!(order_by_ranks(&[1, 3, 1], BubbleTarget::Best), [0, 2, 1]);
        assert_eq!(order_by_ranks(&[1, 3, 1], BubbleTarget::Worst), [1, 0, 2]);
    }

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
        assert_eq!("ba".parse::<CompareOrder>().unwrap(), CompareOrder::BA);
        assert!("x"
            .parse::<SelectMode>()
            .unwrap_err()
            .to_string()
            .starts_with("mode = x"));
        assert!("middle"
            .parse::<RefMode>()
            .unwrap_err()
            .to_string()
            .starts_with("ref_mode = middle"));
    }
}
