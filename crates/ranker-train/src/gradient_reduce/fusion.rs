//! burn-cuda behind burn's operation fusion (feature `fusion`): the fused float primitive and the
//! round trip through the `CubeTensor` behind it, for the device path in [`super::cuda`].
//!
//! burn 0.21 with `fusion`: `burn::backend::Cuda` is `Fusion<CubeBackend<CudaRuntime, ..>>`, whose
//! float primitive is `burn_fusion::FusionTensor<FusionCubeRuntime<CudaRuntime>>`, an id in the
//! device's fusion server. `GlobalFusionClient::resolve_tensor_float` runs the operations queued on
//! the tensor's stream and hands out its `CubeTensor` (removed from the server when the fusion
//! tensor was its last reference, so writes reach no other tensor); the reduced `CubeTensor` goes
//! back as a new tensor of the same client the way burn-fusion's `float_from_data` registers one:
//! its handle under a fresh id, announced by an `Init` operation.

use burn::backend::ir::{BackendIr, InitOperationIr, OperationIr, OperationOutput};
use burn::tensor::TensorMetadata;
use burn_cubecl::cubecl::cuda::CudaRuntime;
use burn_cubecl::fusion::FusionCubeRuntime;
use burn_cubecl::CubeBackend;
use burn_fusion::client::GlobalFusionClient;
use burn_fusion::stream::OperationStreams;
use burn_fusion::{FusionTensor, NoOp};

use super::cuda::CudaFloat;

type Runtime = FusionCubeRuntime<CudaRuntime>;

/// burn-cuda's float primitive under fusion.
pub(super) type FusionFloat = FusionTensor<Runtime>;

/// The un-fused backend whose handles the fusion server keeps. Its element types only name the
/// defaults for new tensors; resolving a handle keeps the tensor's own dtype.
type Inner = CubeBackend<CudaRuntime, f32, i32, u8>;

/// Runs `f` on the `CubeTensor` behind `tensor` and returns the `CubeTensor` that `f` hands back
/// as a fusion tensor of the same client, with `f`'s other result.
pub(super) fn with_inner<T, E>(
    tensor: FusionFloat,
    f: impl FnOnce(CudaFloat) -> Result<(CudaFloat, T), E>,
) -> Result<(FusionFloat, T), E> {
    let client = tensor.client.clone();
    let cube = client.resolve_tensor_float::<Inner>(tensor);
    let (cube, out) = f(cube)?;
    Ok((register(&client, cube), out))
}

/// `cube` as a new fusion tensor of `client`.
fn register(client: &GlobalFusionClient<Runtime>, cube: CudaFloat) -> FusionFloat {
    let shape = cube.shape();
    let dtype = cube.dtype;
    let handle = <Inner as BackendIr>::float_tensor_handle(cube);
    let desc = InitOperationIr::create(shape, dtype, || client.register_tensor_handle(handle));
    client
        .register(
            OperationStreams::default(),
            OperationIr::Init(desc),
            NoOp::<Inner>::new(),
        )
        .output()
}
