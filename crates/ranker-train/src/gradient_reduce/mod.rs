//! The per-step gradient all-reduce over one flat gradient buffer: in place on the CUDA device
//! through NCCL when the backend is burn-cuda and the collective is NCCL (feature `cuda`), through
//! host memory for every other combination.

#[cfg(feature = "cuda")]
#[allow(unsafe_code)] // hands burn-cuda's gradient buffer to NCCL; see the SAFETY comments
mod cuda;
mod flat;

#[cfg(feature = "cuda")]
pub use cuda::{is_cuda_backend, with_cuda_buffer, CudaBuffer};
pub use flat::{all_reduce_flat_gradient, ReducePath, ReducedGradient};
