//! The device path of the gradient all-reduce: a burn-cuda `f32` vector's device memory handed to
//! NCCL, reduced in place, and used on as the same tensor.
//!
//! burn 0.21 without its `fusion` feature (this crate's default `cuda` build): the cuda float
//! primitive is `burn_cubecl::tensor::CubeTensor<CudaRuntime>`; `client.get_resource(handle)`
//! resolves the handle, view offsets included, to cubecl-cuda's `GpuResource`, whose `ptr` is the
//! `CUdeviceptr` of the first element and `size` the bytes of the view. burn and our NCCL
//! communicator share the device's primary CUDA context (both retain it through cudarc), so the
//! pointer is valid for NCCL. With feature `fusion` the primitive is burn-fusion's
//! `FusionTensor<FusionCubeRuntime<CudaRuntime>>` instead: it is resolved to the `CubeTensor`
//! behind it, lent the same way, and registered back with its fusion client (module `fusion`).
//! The training loop is generic over its backend, so the primitive is reached by `TypeId`
//! comparison and `Any` downcasting; any other backend is left untouched (the host path).
//!
//! Ordering: the kernels burn queued on its stream are waited for (`client.sync()`, after fusion
//! has flushed the tensor's stream) before NCCL reads the buffer, and NCCL's stream is waited for
//! (inside the communicator's call) before burn reads it again. In cubecl-cuda 0.10 `sync` is a
//! wait on the calling thread's stream (an event recorded on it, then synchronised), not a device
//! or context synchronisation. A device-side wait (NCCL's stream waiting on an event of burn's)
//! would save the host round trip of about one kernel launch per step, but cubecl keeps its
//! `CUstream` private to its server; the gradient is complete only after the last backward kernel
//! anyway, so no overlap is lost.

use std::any::{Any, TypeId};

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor, TensorPrimitive};
use burn_cubecl::cubecl::cuda::CudaRuntime;
use burn_cubecl::cubecl::future::block_on;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use ranker_dist::NcclCollective;

use super::flat::{all_reduce_on_host, split, ReducePath, ReducedGradient};
use crate::error::TrainError;

pub(super) type CudaFloat = CubeTensor<CudaRuntime>;

/// The burn-cuda float primitive a backend has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CudaPrimitive {
    /// `CubeTensor<CudaRuntime>`: `burn::backend::Cuda` without burn's `fusion` feature.
    Cube,
    /// `FusionTensor<FusionCubeRuntime<CudaRuntime>>`: `burn::backend::Cuda` with it (recognised
    /// only in a build with this crate's feature `fusion`).
    Fusion,
}

impl std::fmt::Display for CudaPrimitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CudaPrimitive::Cube => "CubeTensor<CudaRuntime>",
            CudaPrimitive::Fusion => "FusionTensor<FusionCubeRuntime<CudaRuntime>>",
        })
    }
}

/// Which burn-cuda float primitive `B` has; `None` for any other backend.
pub fn cuda_primitive<B: Backend>() -> Option<CudaPrimitive> {
    let float = TypeId::of::<B::FloatTensorPrimitive>();
    if float == TypeId::of::<CudaFloat>() {
        return Some(CudaPrimitive::Cube);
    }
    #[cfg(feature = "fusion")]
    if float == TypeId::of::<super::fusion::FusionFloat>() {
        return Some(CudaPrimitive::Fusion);
    }
    None
}

/// Whether `B`'s float tensors are burn-cuda's, fused or not.
pub fn is_cuda_backend<B: Backend>() -> bool {
    cuda_primitive::<B>().is_some()
}

/// The device memory of a burn-cuda `f32` vector, as [`with_cuda_buffer`] lends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CudaBuffer {
    /// `CUdeviceptr` of the first element.
    pub ptr: u64,
    /// Number of `f32` elements.
    pub len: usize,
    /// True when the tensor first had to be copied on the device (its memory was shared with
    /// another tensor, or it was strided); the copy is what comes back.
    pub copied: bool,
}

/// Lends `f` the device memory of `tensor`, a vector of a burn-cuda backend (fused or not).
///
/// Returns `(tensor, None)` untouched when `B` is not burn-cuda or the tensor is not `f32`.
/// Otherwise the tensor is made contiguous and exclusively owned (copied on the device when
/// needed, so that writes cannot reach another tensor), every kernel burn has queued is waited
/// for, `f` runs, and the tensor comes back with `f`'s result. `f` may read and write the
/// `buffer.len` elements at `buffer.ptr`, and must have completed its writes when it returns.
pub fn with_cuda_buffer<B: Backend, R>(
    tensor: Tensor<B, 1>,
    f: impl FnOnce(CudaBuffer) -> R,
) -> Result<(Tensor<B, 1>, Option<R>), TrainError> {
    if !is_cuda_backend::<B>() {
        return Ok((tensor, None));
    }
    let primitive = tensor.into_primitive().tensor();
    let primitive = match cast::<B::FloatTensorPrimitive, CudaFloat>(primitive) {
        Ok(cube) => {
            let (cube, out) = lend(cube, f)?;
            return Ok((from_primitive::<B>(restore::<B, _>(cube)), out));
        }
        Err(primitive) => primitive,
    };
    #[cfg(feature = "fusion")]
    let primitive = match cast::<B::FloatTensorPrimitive, super::fusion::FusionFloat>(primitive) {
        Ok(fused) => {
            let (fused, out) = super::fusion::with_inner(fused, |cube| lend(cube, f))?;
            return Ok((from_primitive::<B>(restore::<B, _>(fused)), out));
        }
        Err(primitive) => primitive,
    };
    Ok((from_primitive::<B>(primitive), None))
}

/// [`with_cuda_buffer`] on the `CubeTensor` itself: `(cube, None)` when it is not `f32`.
fn lend<R>(
    cube: CudaFloat,
    f: impl FnOnce(CudaBuffer) -> R,
) -> Result<(CudaFloat, Option<R>), TrainError> {
    if cube.dtype != DType::F32 {
        return Ok((cube, None));
    }
    let len = cube.meta.shape().num_elements();
    let (cube, copied) = exclusive_contiguous(cube);
    let resource = cube
        .client
        .get_resource(cube.handle.clone())
        .map_err(|e| device_err("resolving the gradient buffer", e))?;
    block_on(cube.client.sync()).map_err(|e| device_err("waiting for burn's kernels", e))?;
    let gpu = resource.resource();
    let bytes = (len * std::mem::size_of::<f32>()) as u64;
    if gpu.size < bytes {
        return Err(TrainError::Device {
            op: "resolving the gradient buffer",
            message: format!(
                "the device buffer has {} bytes, the {len}-element tensor needs {bytes}",
                gpu.size
            ),
        });
    }
    let out = f(CudaBuffer {
        ptr: gpu.ptr,
        len,
        copied,
    });
    // The resource keeps the allocation alive until `f` is done.
    drop(resource);
    Ok((cube, Some(out)))
}

/// The device path of [`super::all_reduce_flat_gradient`] for `joined` (`n` gradient values,
/// then the loss share): `Err(joined)` untouched when `B` is not burn-cuda.
pub(super) fn all_reduce_on_device<B: Backend>(
    joined: Tensor<B, 1>,
    n: usize,
    nccl: &mut NcclCollective,
    bucket_mb: f64,
    device: &B::Device,
) -> Result<Result<ReducedGradient<B>, Tensor<B, 1>>, TrainError> {
    if !is_cuda_backend::<B>() {
        return Ok(Err(joined));
    }
    let (joined, reduced) = with_cuda_buffer(joined, |buffer| {
        // SAFETY: `with_cuda_buffer` lends `buffer.len` f32 of exclusively owned device memory,
        // with burn's writes to it complete; NCCL's writes are complete when the call returns.
        unsafe {
            nccl.all_reduce_device_ptr_bucketed(
                buffer.ptr,
                buffer.len,
                bucket_mb,
                ranker_dist::ReduceOp::Sum,
            )
        }
    })?;
    match reduced {
        Some(result) => {
            result?;
            Ok(Ok(split(joined, n, ReducePath::Device)))
        }
        // Not reachable for an f32 burn-cuda vector; stay correct through the host anyway.
        None => all_reduce_on_host(joined, n, nccl, bucket_mb, device).map(Ok),
    }
}

/// A contiguous tensor that owns its memory alone: `tensor` itself when it already is one.
fn exclusive_contiguous(tensor: CudaFloat) -> (CudaFloat, bool) {
    let strided = !tensor.is_contiguous();
    let tensor = into_contiguous(tensor);
    if tensor.can_mut() {
        (tensor, strided)
    } else {
        (tensor.copy(), true)
    }
}

/// `primitive` back as `B`'s float primitive, which it was taken from.
fn restore<B: Backend, T: 'static>(primitive: T) -> B::FloatTensorPrimitive {
    cast::<T, B::FloatTensorPrimitive>(primitive)
        .unwrap_or_else(|_| unreachable!("downcast from B's float primitive just before"))
}

fn from_primitive<B: Backend>(primitive: B::FloatTensorPrimitive) -> Tensor<B, 1> {
    Tensor::from_primitive(TensorPrimitive::Float(primitive))
}

/// Moves `value` into a `U` when `T` and `U` are the same type.
fn cast<T: 'static, U: 'static>(value: T) -> Result<U, T> {
    let boxed: Box<dyn Any> = Box::new(value);
    match boxed.downcast::<U>() {
        Ok(u) => Ok(*u),
        Err(boxed) => Err(*boxed.downcast::<T>().expect("the value boxed above")),
    }
}

fn device_err(op: &'static str, e: impl std::fmt::Display) -> TrainError {
    TrainError::Device {
        op,
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn other_backends_are_left_untouched() {
        assert!(!is_cuda_backend::<Flex>());
        assert_eq!(cuda_primitive::<Flex>(), None);
        let device = Default::default();
        let t = Tensor::<Flex, 1>::from_floats([1.0, 2.0], &device);
        let (back, lent) = with_cuda_buffer(t.clone(), |b| b.len).unwrap();
        assert_eq!(lent, None);
        assert_eq!(back.into_data(), t.into_data());
    }

    #[test]
    fn burn_cuda_primitives_are_recognised() {
        let cuda = if cfg!(feature = "fusion") {
            CudaPrimitive::Fusion
        } else {
            CudaPrimitive::Cube
        };
        assert_eq!(cuda_primitive::<burn::backend::Cuda>(), Some(cuda));
        assert_eq!(
            cuda_primitive::<burn_cubecl::CubeBackend<CudaRuntime, f32, i32, u8>>(),
            Some(CudaPrimitive::Cube)
        );
    }

    #[test]
    fn cast_moves_only_between_equal_types() {
        assert_eq!(cast::<u32, u32>(7), Ok(7));
        assert_eq!(cast::<u32, i64>(7), Err(7));
    }
}
