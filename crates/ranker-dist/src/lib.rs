//! The process group of llm-ranker workers.
//!
//! What it does:
//! - [`DistEnv`]: the env contract `launch` hands each worker (torchrun names plus `RANKER_STORE_TOKEN`),
//!   validated with one-line errors naming the variable; a world of one when nothing is set.
//! - [`StoreServer`] / [`StoreClient`]: the token-guarded rendezvous store (set, get, wait, add, compare_set,
//!   delete, barrier, last will), every client call bounded by a timeout. The launcher hosts the server; in Slurm
//!   per-task mode rank 0's worker does ([`DistEnv::must_host_store`]).
//! - [`Collective`]: all-reduce (sum, mean), broadcast, all-gather and barrier, with the backends
//!   [`SingleCollective`] (world of one), [`HostCollective`] (TCP ring, deterministic summation order, bounded
//!   waits) and `NcclCollective` (feature `nccl`, cudarc).
//! - [`all_reduce_bucketed`]: the gradient all-reduce over one flat buffer cut into buckets.
//! - [`failure`]: the failure and heartbeat channel shared with the launcher; [`signals`]: the SIGUSR1
//!   checkpoint-request flag.
//!
//! What it does not do: spawn or supervise processes (that is `launch`), know about models, tensors or
//! checkpoints (that is the trainer), or print to stdout.
//!
//! A worker starts with [`init_from_env`]:
//! ```no_run
//! use ranker_dist::{init_from_env, DistOptions, ReduceOp, all_reduce_bucketed};
//! # fn main() -> Result<(), ranker_dist::DistError> {
//! ranker_dist::signals::install_checkpoint_handler()?;
//! let mut pg = init_from_env(&DistOptions::default())?;
//! let mut grads = vec![0.5f32; 1000];
//! all_reduce_bucketed(pg.collective(), &mut grads, 25.0, ReduceOp::Mean)?;
//! if ranker_dist::signals::checkpoint_requested() { /* save, then exit with signals::STOPPED_FOR_REQUEUE */ }
//! pg.finish()?;
//! # Ok(()) }
//! ```

pub mod collective;
pub mod env;
mod error;
pub mod failure;
mod init;
pub mod signals;
pub mod store;

#[cfg(feature = "nccl")]
pub use collective::NcclCollective;
pub use collective::{
    all_reduce_bucketed, broadcast_f32, bucket_ranges, BackendKind, Collective, HostCollective,
    ReduceOp, SingleCollective,
};
pub use env::{DistEnv, EnvSource, MasterAddr, StoreHost};
pub use error::DistError;
pub use failure::FailureRecord;
pub use init::{
    hostname, init, init_from_env, worker_prefix, BackendChoice, DistOptions, ProcessGroup,
};
pub use store::{StoreClient, StoreServer};
