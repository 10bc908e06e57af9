//! The `Collective` trait every backend implements.

use crate::error::DistError;

/// Reduction applied by [`Collective::all_reduce`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    /// Element-wise sum over ranks.
    Sum,
    /// Element-wise sum divided by the world size.
    Mean,
}

/// Which backend a [`Collective`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendKind {
    /// World size 1: every operation is the identity.
    Single,
    /// TCP ring between worker processes over host memory.
    Host,
    /// NCCL on CUDA devices.
    Nccl,
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BackendKind::Single => "single",
            BackendKind::Host => "host",
            BackendKind::Nccl => "nccl",
        })
    }
}

/// Collective operations over all ranks of the job. Every rank must call the same operations in the same order
/// with the same sizes; a mismatch is reported as [`DistError::Desync`] where the backend can see it.
///
/// All ranks end every operation with bitwise identical results.
pub trait Collective: Send {
    /// This process's rank.
    fn rank(&self) -> usize;
    /// Number of ranks.
    fn world_size(&self) -> usize;
    /// Which backend this is.
    fn backend(&self) -> BackendKind;
    /// Reduces `buf` element-wise over all ranks, in place. `buf.len()` must be equal on every rank.
    fn all_reduce(&mut self, buf: &mut [f32], op: ReduceOp) -> Result<(), DistError>;
    /// Replaces `buf` on every rank with `root`'s `buf` (lengths may differ before the call).
    fn broadcast(&mut self, buf: &mut Vec<u8>, root: usize) -> Result<(), DistError>;
    /// Gathers every rank's `bytes`; element `i` of the result is rank `i`'s input.
    fn all_gather(&mut self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, DistError>;
    /// Returns once every rank has entered the barrier.
    fn barrier(&mut self) -> Result<(), DistError>;
    /// The NCCL communicator when this collective is the NCCL backend, so that a caller holding CUDA device
    /// buffers (burn-cuda gradients) can reduce them in place instead of through host memory. `None` for every
    /// other backend.
    #[cfg(feature = "nccl")]
    fn as_nccl(&mut self) -> Option<&mut super::NcclCollective> {
        None
    }
}

/// Broadcasts an `f32` buffer from `root` (e.g. the initial parameters), via [`Collective::broadcast`].
/// `buf.len()` must be equal on every rank.
pub fn broadcast_f32(
    coll: &mut dyn Collective,
    buf: &mut [f32],
    root: usize,
) -> Result<(), DistError> {
    let mut bytes: Vec<u8> = buf.iter().flat_map(|x| x.to_le_bytes()).collect();
    coll.broadcast(&mut bytes, root)?;
    if bytes.len() != buf.len() * 4 {
        return Err(DistError::InvalidArgument {
            rank: coll.rank(),
            op: "broadcast_f32",
            detail: format!(
                "rank {root} sent {} values, this rank has {}",
                bytes.len() / 4,
                buf.len()
            ),
        });
    }
    for (x, b) in buf.iter_mut().zip(bytes.chunks_exact(4)) {
        *x = f32::from_le_bytes(b.try_into().expect("4 bytes"));
    }
    Ok(())
}
