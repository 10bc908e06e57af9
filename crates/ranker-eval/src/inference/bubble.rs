//! Bubble mode: one pass (or the reference's quirky `num_runs` passes) over a seeded permutation, both orders per
//! comparison, ties to the later candidate; all items of a chunk advance together so their comparisons share batches.
// https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/ranker.py#L632

use ranker_metrics::competition_ranks;

use super::batcher::{score_requests, PairRequest};
use super::options::{BubbleOptions, BubbleTarget};
use super::stats::InferenceStats;
use crate::error::EvalError;
use crate::item::{BubbleStep, ItemPrediction, ItemText};
use crate::rng::item_permutation;
use crate::scorer::PairScorer;

/// The state of one item's bubble passes, as `_bubble_predict`:
///
/// ```text
/// for i in range(num_runs):                      num_runs clipped to [1, n]
///     for j in range(i, n − 1):
///         cur, next = permu[j], permu[j + 1]
///         d = f(cur, next) + (−f(next, cur))
///         best:  cur moves on iff d > 0          (a tie moves next on)
///         worst: cur moves on iff d < 0
///         permu[j], permu[j + 1] = (the other one), (the one that moves on)
///         record (cur, next, permu[j + 1])
/// winner = permu[n − 1] after the last comparison
/// ```
#[derive(Clone, Debug)]
pub struct BubbleState {
    perm: Vec<usize>,
    runs: usize,
    run: usize,
    j: usize,
    target: BubbleTarget,
    steps: Vec<BubbleStep>,
}

impl BubbleState {
    /// Starts passes over `perm` (a permutation of the candidates).
    pub fn new(perm: Vec<usize>, num_runs: usize, target: BubbleTarget) -> Self {
        let runs = num_runs.clamp(1, perm.len().max(1));
        let mut state = Self {
            perm,
            runs,
            run: 0,
            j: 0,
            target,
            steps: Vec::new(),
        };
        state.skip_empty_runs();
        state
    }

    fn skip_empty_runs(&mut self) {
        let n = self.perm.len();
        while self.run < self.runs && self.j + 1 >= n {
            self.run += 1;
            self.j = self.run;
        }
    }

    /// The next comparison `(cur, next)`, or `None` when the passes are over.
    pub fn pending(&self) -> Option<(usize, usize)> {
        (self.run < self.runs).then(|| (self.perm[self.j], self.perm[self.j + 1]))
    }

    /// Records the two logits of the pending comparison, `f(cur, next)` and `f(next, cur)`. Panics when no
    /// comparison is pending.
    pub fn record(&mut self, cur_next: f64, next_cur: f64) {
        let (cur, next) = self.pending().expect("a comparison is pending");
        let diff = cur_next + (-next_cur);
        let cur_moves_on = match self.target {
            BubbleTarget::Best => diff > 0.0,
            BubbleTarget::Worst => diff < 0.0,
        };
        let (stays, moves_on) = if cur_moves_on {
            (next, cur)
        } else {
            (cur, next)
        };
        self.perm[self.j] = stays;
        self.perm[self.j + 1] = moves_on;
        self.steps.push(BubbleStep {
            cur: cur as u32,
            next: next as u32,
            better: moves_on as u32,
        });
        self.j += 1;
        self.skip_empty_runs();
    }

    /// The comparisons made, in order (`select_process`).
    pub fn steps(&self) -> &[BubbleStep] {
        &self.steps
    }

    /// The winner (`select_process[2][-1]`); `None` before the first comparison.
    pub fn winner(&self) -> Option<usize> {
        self.steps.last().map(|s| s.better as usize)
    }

    /// The permutation as the passes left it.
    pub fn permutation(&self) -> &[usize] {
        &self.perm
    }
}

/// Runs bubble passes over `perm` with `f(i, j)` given as a function: the single-item reference of what the
/// batched driver does.
pub fn bubble_select(
    perm: Vec<usize>,
    num_runs: usize,
    target: BubbleTarget,
    mut f: impl FnMut(usize, usize) -> f64,
) -> BubbleState {
    let mut state = BubbleState::new(perm, num_runs, target);
    while let Some((cur, next)) = state.pending() {
        let (a, b) = (f(cur, next), f(next, cur));
        state.record(a, b);
    }
    state
}

/// Scores that order candidates by how late they were eliminated: a candidate scores the 1-based index of the
/// last comparison it lost, and the winner `steps + 1`. With one run, every candidate loses exactly once except the
/// winner, so the ranks are a strict order whose first place is the winner; it is *not* the total order a full
/// matrix gives (a candidate eliminated late only lost to the champion of its moment).
pub fn bubble_elimination_scores(n: usize, steps: &[BubbleStep]) -> Vec<f64> {
    let mut scores = vec![0.0; n];
    for (k, step) in steps.iter().enumerate() {
        scores[step.loser() as usize] = (k + 1) as f64;
    }
    if let Some(last) = steps.last() {
        scores[last.better as usize] = (steps.len() + 1) as f64;
    }
    scores
}

/// The reference's `return_all` order of `get_best_of_n`: the winner, then the candidate left behind by each
/// comparison, in comparison order (`rest_idx`). Not a total order.
pub fn bubble_return_all_order(steps: &[BubbleStep]) -> Vec<usize> {
    let mut order = Vec::with_capacity(steps.len() + 1);
    if let Some(last) = steps.last() {
        order.push(last.better as usize);
    }
    order.extend(steps.iter().map(|s| s.loser() as usize));
    order
}

fn prediction(item: &ItemText<'_>, state: BubbleState) -> Result<ItemPrediction, EvalError> {
    let n = item.n_candidates();
    let scores = bubble_elimination_scores(n, state.steps());
    let ranks =
        competition_ranks(&scores).map_err(|e| EvalError::at_item(item.index, item.id, e))?;
    let selected = state
        .winner()
        .expect("a rankable item has at least one comparison");
    Ok(ItemPrediction {
        index: item.index,
        scores,
        ranks,
        selected,
        matrix: None,
        bubble: Some(state.steps),
    })
}

/// Bubble inference for a chunk of prepared items: each step collects the pending comparison of every unfinished
/// item (both orders), scores them together in full batches, and advances every item.
pub fn bubble_predict_chunk<S: PairScorer>(
    scorer: &mut S,
    items: &[ItemText<'_>],
    prepared: &[S::Prepared],
    options: &BubbleOptions,
    batch_size: usize,
    stats: &mut InferenceStats,
) -> Result<Vec<ItemPrediction>, EvalError> {
    let mut states: Vec<BubbleState> = items
        .iter()
        .map(|item| {
            let perm =
                item_permutation(options.seed, options.round, item.index, item.n_candidates());
            BubbleState::new(perm, options.num_runs, options.target)
        })
        .collect();
    let mut requests = Vec::with_capacity(2 * items.len());
    let mut waiting = Vec::with_capacity(items.len());
    loop {
        requests.clear();
        waiting.clear();
        for (slot, state) in states.iter().enumerate() {
            if let Some((cur, next)) = state.pending() {
                waiting.push(slot);
                requests.push(PairRequest {
                    slot,
                    left: cur,
                    right: next,
                });
                requests.push(PairRequest {
                    slot,
                    left: next,
                    right: cur,
                });
            }
        }
        if waiting.is_empty() {
            break;
        }
        let logits = score_requests(scorer, items, prepared, &requests, batch_size, stats)?;
        for (k, &slot) in waiting.iter().enumerate() {
            states[slot].record(logits[2 * k], logits[2 * k + 1]);
        }
    }
    items
        .iter()
        .zip(states)
        .map(|(item, state)| prediction(item, state))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// f(i, j) = q_i − q_j with q = [3, 1, 4, 1, 5].
    fn f(i: usize, j: usize) -> f64 {
        let q = [3.0, 1.0, 4.0, 1.0, 5.0];
        q[i] - q[j]
    }

    #[test]
    fn one_pass_carries_the_best_to_the_end() {
        let state = bubble_select(vec![2, 0, 4, 1, 3], 1, BubbleTarget::Best, f);
        assert_eq!(state.winner(), Some(4));
        assert_eq!(state.steps().len(), 4);
        assert_eq!(state.permutation()[4], 4);
        let worst = bubble_select(vec![2, 0, 4, 1, 3], 1, BubbleTarget::Worst, f);
        // 1 and 3 tie on quality; the tie moves the later one (3) on.
        assert_eq!(worst.winner(), Some(3));
    }

    #[test]
    fn ties_go_to_the_later_candidate() {
        let state = bubble_select(vec![1, 3], 1, BubbleTarget::Best, f);
        assert_eq!(
            state.steps(),
            [BubbleStep {
                cur: 1,
                next: 3,
                better: 3
            }]
        );
    }

    #[test]
    fn runs_follow_the_reference_loop_and_are_clipped() {
        // n = 5: runs 0..3 make 4 + 3 + 2 comparisons; num_runs above n is clipped to n (4 + 3 + 2 + 1 + 0).
        assert_eq!(
            bubble_select(vec![0, 1, 2, 3, 4], 3, BubbleTarget::Best, f)
                .steps()
                .len(),
            9
        );
        assert_eq!(
            bubble_select(vec![0, 1, 2, 3, 4], 99, BubbleTarget::Best, f)
                .steps()
                .len(),
            10
        );
        assert_eq!(
            bubble_select(vec![0], 1, BubbleTarget::Best, f).winner(),
            None
        );
    }

    #[test]
    fn elimination_scores_rank_the_winner_first() {
        let state = bubble_select(vec![2, 0, 4, 1, 3], 1, BubbleTarget::Best, f);
        let scores = bubble_elimination_scores(5, state.steps());
        assert_eq!(scores[4], 5.0);
        let ranks = competition_ranks(&scores).unwrap();
        assert_eq!(ranks[4], 1);
        let mut sorted = ranks.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [1, 2, 3, 4, 5]);
        let order = bubble_return_all_order(state.steps());
        assert_eq!(order[0], 4);
        assert_eq!(order.len(), 5);
    }
}
