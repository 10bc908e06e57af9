//! `--device`: which burn backend and device a command's model runs on.

use ranker_dist::DistEnv;
use ranker_train::worker::{Device, DeviceRequest};

use crate::args::DeviceArg;

/// The device `arg` asks for, in this process: under `launch`, GPU `LOCAL_RANK` (or 0 when Slurm bound the
/// task to one GPU with `--gpus-per-task=1`).
pub(crate) fn resolve(arg: DeviceArg) -> anyhow::Result<Device> {
    let env = DistEnv::from_process_env()?;
    let device = Device::resolve(request(arg), env.cuda_device)?;
    prepare(device);
    Ok(device)
}

/// What a device needs before its first tensor: on CUDA, the persistent kernel cache
/// (`ranker_train::kernel_cache`).
pub(crate) fn prepare(device: Device) {
    #[cfg(feature = "cuda")]
    if matches!(device, Device::Cuda(_)) {
        ranker_train::kernel_cache::configure();
    }
    let _ = device;
}

pub(crate) fn request(arg: DeviceArg) -> DeviceRequest {
    match arg {
        DeviceArg::Auto => DeviceRequest::Auto,
        DeviceArg::Cpu => DeviceRequest::Cpu,
        DeviceArg::Cuda => DeviceRequest::Cuda,
    }
}

/// Evaluates `$body` with the type `$B` bound to the burn backend of `$device` (a [`Device`]) and `$dev` to
/// that backend's device: Flex on the CPU, burn-cuda's device `n` on `Device::Cuda(n)`.
macro_rules! on_device {
    ($device:expr, $B:ident, $dev:ident => $body:expr) => {
        match $device {
            ranker_train::worker::Device::Cpu => {
                type $B = burn::backend::Flex;
                let $dev: burn::tensor::Device<$B> = Default::default();
                $body
            }
            #[cfg(feature = "cuda")]
            ranker_train::worker::Device::Cuda(ordinal) => {
                type $B = burn::backend::Cuda;
                let $dev = burn::backend::cuda::CudaDevice::new(ordinal);
                $body
            }
        }
    };
}
pub(crate) use on_device;
