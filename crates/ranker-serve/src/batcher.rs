//! The model thread: takes queued requests, lets more arrive for up to `max_wait` until `max_batch_pairs`
//! comparisons are waiting, and runs them together so that their pairs share forward batches.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use burn::tensor::backend::Backend;
use ranker_eval::reward::{order_by_ranks, BestOfNOutput, RewardModel, SelectMode};
use ranker_eval::{BatchOptions, EvalError, InferenceStats};
use serde::Serialize;
use tokio::sync::oneshot;

use crate::metrics::Metrics;
use crate::request::Work;

/// The model's answer to one request: one JSON value per item, or the error.
pub(crate) type Reply = Result<Vec<serde_json::Value>, String>;

/// A queued request.
#[derive(Debug)]
pub(crate) struct Job {
    pub work: Work,
    pub cost: usize,
    pub reply: oneshot::Sender<Reply>,
}

/// How the model thread groups requests.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Batching {
    pub max_batch_pairs: usize,
    pub max_wait: Duration,
}

/// Runs until every sender of `jobs` is gone (the server has shut down and answered everything).
pub(crate) fn run<B: Backend>(
    mut model: RewardModel<B>,
    jobs: Receiver<Job>,
    batching: Batching,
    metrics: Arc<Metrics>,
) {
    while let Ok(first) = jobs.recv() {
        let deadline = Instant::now() + batching.max_wait;
        let mut pairs = first.cost;
        let mut batch = vec![first];
        while pairs < batching.max_batch_pairs {
            let wait = deadline.saturating_duration_since(Instant::now());
            match jobs.recv_timeout(wait) {
                Ok(job) => {
                    pairs += job.cost;
                    batch.push(job);
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        metrics.queued().fetch_sub(batch.len(), Ordering::Relaxed);
        metrics.batch(pairs, batch.len());
        tracing::debug!(
            "model batch: {} request(s), {pairs} comparison(s)",
            batch.len()
        );
        run_batch(&mut model, batch, batching.max_batch_pairs);
    }
    tracing::debug!("model thread: queue closed");
}

/// Groups the batch's requests into calls that can share forwards: all `rank`s, all `compare`s of one order,
/// all best-of-n that select by rank; a bubble best-of-n draws its permutation from the item's position in its
/// request, so each runs with its own request.
fn run_batch<B: Backend>(model: &mut RewardModel<B>, batch: Vec<Job>, batch_size: usize) {
    let options = BatchOptions::with_batch_size(batch_size.max(1));
    let mut stats = InferenceStats::default();
    let mut ranks = Vec::new();
    let mut compares: Vec<(ranker_eval::reward::CompareOrder, Vec<_>)> = Vec::new();
    let mut by_rank = Vec::new();
    for job in batch {
        match job.work {
            Work::Rank(inputs) => ranks.push((job.reply, inputs)),
            Work::Compare(inputs, order) => match compares.iter_mut().find(|(o, _)| *o == order) {
                Some((_, group)) => group.push((job.reply, inputs)),
                None => compares.push((order, vec![(job.reply, inputs)])),
            },
            Work::BestOfN {
                inputs,
                mode,
                bubble,
                return_all,
            } if mode == SelectMode::Full || !model.is_pairwise() => {
                by_rank.push((job.reply, (inputs, bubble.target, return_all)));
            }
            Work::BestOfN {
                inputs,
                mode,
                bubble,
                return_all,
            } => {
                let reply = model
                    .best_of_n(0, &inputs, mode, &bubble, return_all, &options, &mut stats)
                    .map_err(|e| e.to_string())
                    .map(to_values);
                let _ = job.reply.send(reply);
            }
        }
    }
    run_group(ranks, |inputs| model.rank(0, inputs, &options, &mut stats));
    for (order, group) in compares {
        run_group(group, |inputs| {
            model.compare(0, inputs, order, &options, &mut stats)
        });
    }
    run_by_rank(model, by_rank, &options, &mut stats);
}

fn to_values<O: Serialize>(outputs: Vec<O>) -> Vec<serde_json::Value> {
    outputs
        .into_iter()
        .map(|o| serde_json::to_value(o).expect("outputs serialize"))
        .collect()
}

/// Runs the requests of `group` as one call; when it fails, each request on its own, so that an error reaches
/// only the request that caused it.
fn run_group<I: Clone, O: Serialize>(
    group: Vec<(oneshot::Sender<Reply>, Vec<I>)>,
    mut call: impl FnMut(&[I]) -> Result<Vec<O>, EvalError>,
) {
    if group.is_empty() {
        return;
    }
    let all: Vec<I> = group
        .iter()
        .flat_map(|(_, inputs)| inputs.iter().cloned())
        .collect();
    match call(&all) {
        Ok(outputs) => {
            let mut outputs = to_values(outputs).into_iter();
            for (reply, inputs) in group {
                let _ = reply.send(Ok(outputs.by_ref().take(inputs.len()).collect()));
            }
        }
        Err(_) if group.len() > 1 => {
            for (reply, inputs) in group {
                let _ = reply.send(call(&inputs).map(to_values).map_err(|e| e.to_string()));
            }
        }
        Err(e) => {
            for (reply, _) in group {
                let _ = reply.send(Err(e.to_string()));
            }
        }
    }
}

type ByRank = (
    Vec<ranker_eval::reward::RankInput>,
    ranker_eval::BubbleTarget,
    bool,
);

/// Best-of-n that selects by rank (full mode, or a listwise ranker): one `rank` call for all of them.
fn run_by_rank<B: Backend>(
    model: &mut RewardModel<B>,
    group: Vec<(oneshot::Sender<Reply>, ByRank)>,
    options: &BatchOptions,
    stats: &mut InferenceStats,
) {
    let group: Vec<_> = group
        .into_iter()
        .map(|(reply, (inputs, target, return_all))| {
            let tagged: Vec<_> = inputs
                .into_iter()
                .map(|i| (i, target, return_all))
                .collect();
            (reply, tagged)
        })
        .collect();
    run_group(group, |tagged| {
        let inputs: Vec<_> = tagged.iter().map(|(i, _, _)| i.clone()).collect();
        let ranked = model.rank(0, &inputs, options, stats)?;
        Ok(ranked
            .iter()
            .zip(tagged)
            .map(|(r, (input, target, return_all))| {
                let order = order_by_ranks(&r.ranks, *target);
                BestOfNOutput {
                    best: order[0] as u32,
                    candidate: input.candidates[order[0]].clone(),
                    order: return_all.then(|| order.iter().map(|&c| c as u32).collect()),
                }
            })
            .collect())
    });
}
