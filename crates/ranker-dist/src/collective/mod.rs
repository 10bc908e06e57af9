//! Collective operations: the trait and its backends.

mod base;
mod bucket;
mod host;
#[cfg(feature = "nccl")]
mod nccl;
mod single;

pub use base::{broadcast_f32, BackendKind, Collective, ReduceOp};
pub use bucket::{all_reduce_bucketed, bucket_ranges};
pub use host::{segment_bounds, HostCollective};
#[cfg(feature = "nccl")]
pub use nccl::NcclCollective;
pub use single::SingleCollective;
