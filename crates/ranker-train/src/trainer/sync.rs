//! Cross-rank agreement: identical parameters at start, the per-step gradient all-reduce, and the
//! global-norm clipping applied to the reduced gradient.

use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use ranker_dist::{broadcast_f32, Collective};

use crate::error::TrainError;
use crate::gradient_reduce::{all_reduce_flat_gradient, ReducePath, ReducedGradient};
use crate::optim::ParamTable;

/// FNV-1a over the parameter paths and shapes: a checkpoint whose fingerprint differs was made for
/// another architecture or vocabulary.
pub(crate) fn fingerprint(table: &ParamTable) -> String {
    let mut hash = Fnv::default();
    for entry in table.entries() {
        hash.write(entry.path.as_bytes());
        for d in &entry.shape {
            hash.write(&(*d as u64).to_le_bytes());
        }
    }
    format!("{:016x}", hash.0)
}

struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
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

/// Makes every rank's parameters rank 0's (broadcast), then verifies it by comparing a checksum of
/// every rank's parameters; a rank that differs is named.
pub(crate) fn sync_parameters<AB, M>(
    model: M,
    table: &ParamTable,
    collective: &mut dyn Collective,
    device: &AB::Device,
) -> Result<M, TrainError>
where
    AB: AutodiffBackend,
    M: AutodiffModule<AB>,
{
    if collective.world_size() == 1 {
        return Ok(model);
    }
    let mut values = to_host(table.flatten_params::<AB, M>(&model));
    broadcast_f32(collective, &mut values, 0)?;
    let checksum = {
        let mut h = Fnv::default();
        for v in &values {
            h.write(&v.to_bits().to_le_bytes());
        }
        h.0
    };
    let model = table.assign_params::<AB, M>(model, to_device(values, device));
    let after = to_host(table.flatten_params::<AB, M>(&model));
    let mut own = Fnv::default();
    for v in &after {
        own.write(&v.to_bits().to_le_bytes());
    }
    let sums = collective.all_gather(&own.0.to_le_bytes())?;
    for (rank, bytes) in sums.iter().enumerate() {
        let theirs = u64::from_le_bytes(bytes.as_slice().try_into().unwrap_or_default());
        if theirs != checksum {
            return Err(TrainError::Setup {
                key: "dist",
                message: format!(
                    "rank {rank}'s parameters differ from rank 0's after the broadcast (checksum {theirs:016x} vs {checksum:016x})"
                ),
            });
        }
    }
    Ok(model)
}

/// Sums the flat gradient (and the step's loss share, one element carried at its end) over the
/// ranks: on the device for burn-cuda with NCCL, else through host memory
/// ([`all_reduce_flat_gradient`]).
pub(crate) fn all_reduce_gradients<B: Backend>(
    flat: Tensor<B, 1>,
    loss_share: Tensor<B, 1>,
    collective: &mut dyn Collective,
    bucket_mb: usize,
    device: &B::Device,
) -> Result<ReducedGradient<B>, TrainError> {
    if collective.world_size() == 1 {
        return Ok(ReducedGradient {
            flat,
            loss_share,
            path: ReducePath::SingleRank,
        });
    }
    all_reduce_flat_gradient(flat, loss_share, collective, bucket_mb as f64, device)
}

/// The global L2 norm of the gradient (one element) and the gradient scaled by
/// `min(1, max_norm / (norm + 1e-6))` (`torch.nn.utils.clip_grad_norm_`), both on the device:
/// nothing is read to the host.
pub(crate) fn clip_global_norm<B: Backend>(
    flat: Tensor<B, 1>,
    max_norm: Option<f64>,
) -> (Tensor<B, 1>, Tensor<B, 1>) {
    let norm = flat.clone().square().sum().sqrt();
    match max_norm {
        Some(max) => {
            let coef = Tensor::full([1], max, &norm.device())
                .div(norm.clone().add_scalar(1e-6))
                .clamp_max(1.0);
            (flat.mul(coef), norm)
        }
        None => (flat, norm),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn clipping_scales_only_above_the_threshold() {
        let device = Default::default();
        let flat = Tensor::<Flex, 1>::from_floats([3.0, 4.0], &device);
        let (same, norm) = clip_global_norm(flat.clone(), Some(10.0));
        assert!((norm.into_scalar() - 5.0).abs() < 1e-6);
        assert_eq!(same.into_data(), flat.clone().into_data());
        let (clipped, _) = clip_global_norm(flat, Some(1.0));
        let v = clipped.into_data().to_vec::<f32>().unwrap();
        let n = (v[0] * v[0] + v[1] * v[1]).sqrt();
        assert!((n - 1.0).abs() < 1e-5, "{n}");
    }
}
