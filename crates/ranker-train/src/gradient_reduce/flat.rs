//! The gradient all-reduce the training loop runs once per optimiser step.

use std::fmt;

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use ranker_dist::{all_reduce_bucketed, Collective, ReduceOp};

use crate::error::TrainError;

/// Where a gradient all-reduce ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReducePath {
    /// Nothing was reduced: the world has one rank.
    SingleRank,
    /// Through host memory: the buffer was copied to the host, reduced by the collective and
    /// copied back to the device.
    Host,
    /// In place on the CUDA device by NCCL, without a host copy of the gradient.
    Device,
}

impl fmt::Display for ReducePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReducePath::SingleRank => "none (one rank)",
            ReducePath::Host => "through host memory",
            ReducePath::Device => "on the device (NCCL)",
        })
    }
}

/// A flat gradient and the step's loss share, both summed over the ranks.
#[derive(Debug)]
pub struct ReducedGradient<B: Backend> {
    /// The summed gradient, in the parameter table's order.
    pub flat: Tensor<B, 1>,
    /// The summed loss share (the step's mean loss over the global batch), one element on the
    /// device.
    pub loss_share: Tensor<B, 1>,
    /// Where the reduction ran.
    pub path: ReducePath,
}

/// Sums `flat` (the gradient in the parameter table's order) and `loss_share` (one element) over
/// the ranks of `collective`, in buckets of `bucket_mb` MiB. The loss share travels as one extra
/// element at the end of the buffer, so one collective carries both, and every rank cuts the same
/// buckets.
///
/// With the `cuda` feature a burn-cuda gradient is reduced in place on its device when the
/// collective is NCCL ([`ReducePath::Device`]); every other backend or collective goes through
/// host memory ([`ReducePath::Host`]). The caller skips this for a world of one.
pub fn all_reduce_flat_gradient<B: Backend>(
    flat: Tensor<B, 1>,
    loss_share: Tensor<B, 1>,
    collective: &mut dyn Collective,
    bucket_mb: f64,
    device: &B::Device,
) -> Result<ReducedGradient<B>, TrainError> {
    let n = flat.dims()[0];
    let joined = Tensor::cat(vec![flat, loss_share.reshape([1])], 0);
    #[cfg(feature = "cuda")]
    let joined = match collective.as_nccl() {
        Some(nccl) => {
            match super::cuda::all_reduce_on_device(joined, n, nccl, bucket_mb, device)? {
                Ok(reduced) => return Ok(reduced),
                Err(not_cuda) => not_cuda,
            }
        }
        None => joined,
    };
    all_reduce_on_host(joined, n, collective, bucket_mb, device)
}

/// Sums `joined` (`n` gradient values, then the loss share) over the ranks through host memory.
pub(super) fn all_reduce_on_host<B: Backend>(
    joined: Tensor<B, 1>,
    n: usize,
    collective: &mut dyn Collective,
    bucket_mb: f64,
    device: &B::Device,
) -> Result<ReducedGradient<B>, TrainError> {
    let mut host = to_host(joined);
    all_reduce_bucketed(collective, &mut host, bucket_mb, ReduceOp::Sum)?;
    Ok(split(to_device(host, device), n, ReducePath::Host))
}

/// Splits a reduced `joined` buffer into the gradient (`n` values) and the loss share.
pub(super) fn split<B: Backend>(
    joined: Tensor<B, 1>,
    n: usize,
    path: ReducePath,
) -> ReducedGradient<B> {
    ReducedGradient {
        flat: joined.clone().slice(0..n),
        loss_share: joined.slice(n..n + 1),
        path,
    }
}

fn to_host<B: Backend>(t: Tensor<B, 1>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .expect("f32 data")
}

fn to_device<B: Backend>(values: Vec<f32>, device: &B::Device) -> Tensor<B, 1> {
    let n = values.len();
    Tensor::from_data(TensorData::new(values, [n]), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use ranker_dist::{HostCollective, SingleCollective, StoreClient, StoreServer};
    use std::time::Duration;

    #[test]
    fn host_path_sums_two_ranks_in_ragged_buckets() {
        let server = StoreServer::bind("127.0.0.1:0", "t").unwrap();
        let addr = server.local_addr().to_string();
        // 9 gradient values + the loss element in buckets of 4: 4, 4, 2.
        let bucket_mb = 16.0 / (1024.0 * 1024.0);
        let ranks: Vec<_> = (0..2)
            .map(|rank| {
                let addr = addr.clone();
                std::thread::spawn(move || {
                    let timeout = Duration::from_secs(30);
                    let store = StoreClient::connect(&addr, "t", timeout).unwrap();
                    let mut coll =
                        HostCollective::connect(&store, "w0", rank, 2, "t", timeout).unwrap();
                    let device = Default::default();
                    let values: Vec<f32> = (0..9).map(|i| (i * (rank + 1)) as f32).collect();
                    let flat = Tensor::<Flex, 1>::from_floats(values.as_slice(), &device);
                    let loss = Tensor::from_floats([0.25 * (rank + 1) as f32], &device);
                    let reduced =
                        all_reduce_flat_gradient(flat, loss, &mut coll, bucket_mb, &device)
                            .unwrap();
                    let flat = reduced.flat.into_data().to_vec::<f32>().unwrap();
                    let loss: f32 = reduced.loss_share.into_scalar();
                    (reduced.path, loss, flat)
                })
            })
            .collect();
        let want: Vec<f32> = (0..9).map(|i| (3 * i) as f32).collect();
        for handle in ranks {
            let (path, loss_share, flat) = handle.join().unwrap();
            assert_eq!(path, ReducePath::Host);
            assert_eq!(loss_share, 0.75);
            assert_eq!(flat, want);
        }
    }

    #[test]
    fn host_path_keeps_a_single_rank_buffer_and_loss() {
        let device = Default::default();
        let flat = Tensor::<Flex, 1>::from_floats([1.5, -2.0, 0.25], &device);
        let loss = Tensor::from_floats([0.75], &device);
        let reduced =
            all_reduce_flat_gradient(flat.clone(), loss, &mut SingleCollective, 1e-6, &device)
                .unwrap();
        assert_eq!(reduced.path, ReducePath::Host);
        assert_eq!(reduced.loss_share.into_scalar(), 0.75);
        assert_eq!(reduced.flat.into_data(), flat.into_data());
    }
}
