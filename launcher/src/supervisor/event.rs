//! What the supervisor loop reacts to.

use ranker_dist::FailureRecord;

/// An input of the supervisor loop.
#[derive(Debug)]
pub enum Event {
    /// A signal arrived (`SIGCHLD` means: reap).
    Signal(libc::c_int),
    /// Another node (or a worker) published the attempt's failure on the store.
    RemoteFailure(FailureRecord),
    /// The failure watcher lost the store (node 0 gone).
    StoreLost(String),
}

/// Why an attempt is being stopped.
#[derive(Debug, Clone)]
pub enum StopReason {
    /// A local worker failed first.
    WorkerFailed {
        /// Its global rank.
        rank: usize,
    },
    /// A failure elsewhere (another node, or a worker's own report).
    Remote(FailureRecord),
    /// The store went away.
    StoreLost(String),
    /// The user (or Slurm) sent a terminating signal.
    Signal(libc::c_int),
}
