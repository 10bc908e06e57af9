//! The per-step gradient all-reduce over one flat gradient buffer: in place on the CUDA device
//! through NCCL when the backend is burn-cuda (also behind burn's fusion, feature `fusion`) and the
//! collective is NCCL (feature `cuda`), through host memory for every other combination.

#[cfg(feature = "cuda")]
#[allow(unsafe_code)] // hands burn-cuda's gradient buffer to NCCL; see the SAFETY comments
mod cuda;
mod flat;
#[cfg(feature = "fusion")]
mod fusion;

#[cfg(feature = "cuda")]
pub use cuda::{cuda_primitive, is_cuda_backend, with_cuda_buffer, CudaBuffer, CudaPrimitive};
pub use flat::{all_reduce_flat_gradient, ReducePath, ReducedGradient};
