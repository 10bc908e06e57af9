//! This rank's micro-batches of each step, prepared (collated, tokenized, sub-sampled) one step
//! ahead on a host thread while the current step computes.
//!
//! A step's micro-batches depend only on the step number (its epoch order, its slice of the global
//! batch and per-example seeds), so preparing step k + 1 during step k changes when the work is
//! done, not what it produces: a resumed run, or a run that stops early, prepares exactly what an
//! uninterrupted one does. The thread holds at most one prepared step, so host memory stays bounded.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use burn::tensor::backend::AutodiffBackend;
use ranker_data::{Dataset, Example};

use crate::batches::{mix, BatchLayout, EpochOrder};
use crate::error::TrainError;
use crate::task::RankerTask;

use super::run::Plan;

/// One step's micro-batches on this rank (`None` where its slice of the micro-step is empty).
pub(super) type StepBatches<M> = Vec<Option<M>>;

/// What a step's micro-batches are drawn from: everything [`BatchSource::prepare`] reads.
pub(super) struct BatchSource<B: AutodiffBackend, T: RankerTask<B>> {
    task: Arc<T>,
    train_set: Dataset,
    layout: BatchLayout,
    steps_per_epoch: u64,
    rank: usize,
    seed: u64,
    /// The example order of the epoch last prepared.
    order: Option<(usize, EpochOrder)>,
    backend: std::marker::PhantomData<fn() -> B>,
}

impl<B: AutodiffBackend, T: RankerTask<B>> BatchSource<B, T> {
    /// The batches of rank `plan.rank` in `plan.layout`, examples ordered by `seed`.
    pub(super) fn new(task: Arc<T>, train_set: Dataset, plan: &Plan, seed: u64) -> Self {
        Self {
            task,
            train_set,
            layout: plan.layout,
            steps_per_epoch: plan.steps_per_epoch,
            rank: plan.rank,
            seed,
            order: None,
            backend: std::marker::PhantomData,
        }
    }

    /// This rank's micro-batches of step `step` (counted from 0 over the whole run).
    pub(super) fn prepare(&mut self, step: u64) -> Result<StepBatches<T::Micro>, TrainError> {
        let epoch = (step / self.steps_per_epoch) as usize;
        let step_in_epoch = (step % self.steps_per_epoch) as usize;
        if self.order.as_ref().is_none_or(|(e, _)| *e != epoch) {
            let n = self.train_set.examples.len();
            self.order = Some((epoch, EpochOrder::new(n, self.seed, epoch)));
        }
        let (_, order) = self.order.as_ref().expect("set above");
        let epoch_seed = mix(self.seed, epoch as u64);
        let example_seed = move |index: usize| mix(epoch_seed, index as u64);
        (0..self.layout.grad_accum)
            .map(|micro| {
                let indices = order.slice(&self.layout, step_in_epoch, micro, self.rank);
                if indices.is_empty() {
                    return Ok(None);
                }
                let examples: Vec<(usize, &Example)> = indices
                    .iter()
                    .map(|&i| (i, &self.train_set.examples[i]))
                    .collect();
                self.task.prepare(&examples, &example_seed).map(Some)
            })
            .collect()
    }
}

/// A step's batches as the thread sends them back.
type Prepared<M> = (u64, Result<StepBatches<M>, TrainError>);

/// Runs a [`BatchSource`] on its own thread, one step ahead of the caller.
pub(super) struct Prefetcher<M> {
    requests: Option<SyncSender<u64>>,
    results: Receiver<Prepared<M>>,
    thread: Option<JoinHandle<()>>,
    /// The step the thread is preparing (or has prepared), not yet taken.
    in_flight: Option<u64>,
}

impl<M: Send + 'static> Prefetcher<M> {
    /// Starts the thread running `prepare` (a step number to that step's batches); it prepares
    /// nothing until asked.
    pub(super) fn start<F>(mut prepare: F) -> Result<Self, TrainError>
    where
        F: FnMut(u64) -> Result<StepBatches<M>, TrainError> + Send + 'static,
    {
        let (requests, step_requests) = sync_channel::<u64>(1);
        let (prepared, results) = sync_channel::<Prepared<M>>(1);
        let thread = std::thread::Builder::new()
            .name("batch-prefetch".into())
            .spawn(move || {
                for step in step_requests {
                    if prepared.send((step, prepare(step))).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| TrainError::Setup {
                key: "train",
                message: format!("cannot start the batch preparation thread: {e}"),
            })?;
        Ok(Self {
            requests: Some(requests),
            results,
            thread: Some(thread),
            in_flight: None,
        })
    }

    /// Step `step`'s batches, then starts preparing `next` (the step after it, when there is one).
    pub(super) fn take(
        &mut self,
        step: u64,
        next: Option<u64>,
    ) -> Result<StepBatches<M>, TrainError> {
        if self.in_flight != Some(step) {
            self.discard_in_flight();
            self.request(step);
        }
        let batches = self.receive(step);
        if let Some(next) = next {
            self.request(next);
        }
        batches
    }

    fn request(&mut self, step: u64) {
        let sent = self
            .requests
            .as_ref()
            .is_some_and(|requests| requests.send(step).is_ok());
        if !sent {
            self.rethrow_thread_panic();
        }
        self.in_flight = Some(step);
    }

    fn receive(&mut self, step: u64) -> Result<StepBatches<M>, TrainError> {
        match self.results.recv() {
            Ok((prepared, batches)) => {
                debug_assert_eq!(prepared, step, "one request is in flight at a time");
                self.in_flight = None;
                batches
            }
            // The thread only stops early on a panic: requests are open.
            Err(_) => self.rethrow_thread_panic(),
        }
    }

    /// Waits for (and drops) a step prepared for a caller that asked for another one.
    fn discard_in_flight(&mut self) {
        if self.in_flight.take().is_some() && self.results.recv().is_err() {
            self.rethrow_thread_panic();
        }
    }

    /// The thread has stopped while requests were open: it panicked. Raises its panic here.
    fn rethrow_thread_panic(&mut self) -> ! {
        self.requests = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            _ => panic!("the batch preparation thread stopped unexpectedly"),
        }
    }
}

impl<M> Drop for Prefetcher<M> {
    /// Closes the request channel, lets the thread finish the step it is on, and joins it.
    fn drop(&mut self) {
        self.requests = None;
        if let Some(thread) = self.thread.take() {
            // The thread may be blocked sending a step nobody will take: receive until it hangs up.
            while self.results.recv().is_ok() {}
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::channel;
    use std::time::Duration;

    use super::*;

    /// Step `s`'s "batches": two micro-batches, the second empty on odd steps.
    fn batches_of(step: u64) -> StepBatches<u64> {
        vec![
            Some(step * 10),
            step.is_multiple_of(2).then_some(step * 10 + 1),
        ]
    }

    #[test]
    fn each_step_gets_its_own_batches_and_the_next_is_prepared_before_it_is_asked_for() {
        let (prepared_tx, prepared_rx) = channel();
        let mut prefetcher = Prefetcher::start(move |step| {
            prepared_tx.send(step).unwrap();
            Ok(batches_of(step))
        })
        .unwrap();
        assert_eq!(prefetcher.take(0, Some(1)).unwrap(), batches_of(0));
        assert_eq!(prepared_rx.recv().unwrap(), 0);
        // Step 1 is prepared while the caller has not asked for it yet.
        let ahead = prepared_rx.recv_timeout(Duration::from_secs(10));
        assert_eq!(ahead, Ok(1));
        assert_eq!(prefetcher.take(1, Some(2)).unwrap(), batches_of(1));
        assert_eq!(prefetcher.take(2, None).unwrap(), batches_of(2));
        assert_eq!(prepared_rx.recv_timeout(Duration::from_secs(10)), Ok(2));
        // The last step requested nothing more.
        assert!(prepared_rx
            .recv_timeout(Duration::from_millis(200))
            .is_err());
    }

    #[test]
    fn asking_for_another_step_than_the_prefetched_one_discards_it() {
        let mut prefetcher = Prefetcher::start(|step| Ok(batches_of(step))).unwrap();
        assert_eq!(prefetcher.take(3, Some(4)).unwrap(), batches_of(3));
        assert_eq!(prefetcher.take(7, Some(8)).unwrap(), batches_of(7));
        assert_eq!(prefetcher.take(8, None).unwrap(), batches_of(8));
    }

    #[test]
    fn a_preparation_error_reaches_the_step_that_needed_it() {
        let mut prefetcher = Prefetcher::start(|step| {
            if step == 1 {
                Err(TrainError::Setup {
                    key: "data.train",
                    message: "line 3: no candidates".into(),
                })
            } else {
                Ok(batches_of(step))
            }
        })
        .unwrap();
        assert!(prefetcher.take(0, Some(1)).is_ok());
        let err = prefetcher.take(1, Some(2)).unwrap_err();
        assert!(err.to_string().contains("line 3: no candidates"), "{err}");
        assert_eq!(prefetcher.take(2, None).unwrap(), batches_of(2));
    }

    #[test]
    fn a_panic_while_preparing_is_raised_in_the_caller() {
        let mut prefetcher = Prefetcher::start(|step| {
            assert!(step < 1, "collating step {step} failed");
            Ok(batches_of(step))
        })
        .unwrap();
        assert!(prefetcher.take(0, Some(1)).is_ok());
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = prefetcher.take(1, None);
        }))
        .unwrap_err();
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("collating step 1 failed"), "{message}");
    }

    #[test]
    fn dropping_with_a_step_in_flight_joins_the_thread() {
        let (done_tx, done_rx) = channel();
        let mut prefetcher = Prefetcher::start(move |step| {
            std::thread::sleep(Duration::from_millis(50));
            done_tx.send(step).unwrap();
            Ok(batches_of(step))
        })
        .unwrap();
        assert!(prefetcher.take(0, Some(1)).is_ok());
        drop(prefetcher);
        // The thread finished the step it was on, and nothing else.
        assert_eq!(done_rx.try_iter().collect::<Vec<_>>(), vec![0, 1]);
    }
}
