//! Reading and writing the non-backbone tensors of a ranker checkpoint (heads, MoE, towers) under torch names and
//! layouts: `Linear` weights are `[out, in]` in files and `[in, out]` in burn.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use burn_store::{ModuleStore, PytorchStore};

use crate::error::LoadError;

/// Tensors read from a checkpoint file, consumed key by key; whatever is left is an error.
pub(crate) struct NamedTensors {
    path: PathBuf,
    tensors: BTreeMap<String, TensorData>,
}

impl NamedTensors {
    /// Reads the tensors whose key passes `keep` from a `.safetensors` or PyTorch (`.bin`) file.
    pub(crate) fn read(file: &Path, keep: impl Fn(&str) -> bool) -> Result<Self, LoadError> {
        let tensors = if file.extension().is_some_and(|e| e == "safetensors") {
            crate::hf::read_safetensors_filtered(file, keep)?
                .into_iter()
                .collect()
        } else {
            let mut store = PytorchStore::from_file(file).map_indices_contiguous(false);
            let snapshots = store
                .get_all_snapshots()
                .map_err(|source| LoadError::Pytorch {
                    path: file.to_path_buf(),
                    source,
                })?;
            let mut tensors = BTreeMap::new();
            for (key, snapshot) in snapshots.iter().filter(|(k, _)| keep(k)) {
                let data = snapshot.to_data().map_err(|e| LoadError::Tensor {
                    path: file.to_path_buf(),
                    key: key.clone(),
                    message: format!("{e:?}"),
                })?;
                tensors.insert(key.clone(), data);
            }
            tensors
        };
        Ok(Self {
            path: file.to_path_buf(),
            tensors,
        })
    }

    /// The keys not consumed yet.
    pub(crate) fn keys(&self) -> Vec<String> {
        self.tensors.keys().cloned().collect()
    }

    /// Removes `key` if present (for buffers that carry no state, e.g. the MoE's `mean`/`std`).
    pub(crate) fn discard(&mut self, key: &str) -> Option<TensorData> {
        self.tensors.remove(key)
    }

    fn take(&mut self, key: &str, shape: &[usize]) -> Result<TensorData, LoadError> {
        let data = self
            .tensors
            .remove(key)
            .ok_or_else(|| LoadError::MissingKeys {
                path: self.path.clone(),
                keys: vec![key.to_string()],
            })?;
        if data.shape.as_slice() != shape {
            return Err(LoadError::ShapeMismatch {
                path: self.path.clone(),
                key: key.to_string(),
                expected: shape.to_vec(),
                found: data.shape.to_vec(),
            });
        }
        Ok(data.convert::<f32>())
    }

    /// The tensor at `key` with the given torch-layout shape, as a parameter replacing `param` (same id).
    pub(crate) fn param<B: Backend, const D: usize>(
        &mut self,
        key: &str,
        param: Param<Tensor<B, D>>,
        device: &B::Device,
    ) -> Result<Param<Tensor<B, D>>, LoadError> {
        let shape = param.shape().to_vec();
        let data = self.take(key, &shape)?;
        Ok(Param::initialized(
            param.id,
            Tensor::from_data(data, device).require_grad(),
        ))
    }

    /// `{prefix}.weight` (`[out, in]`) and `{prefix}.bias` into a burn `Linear` (weight `[in, out]`).
    pub(crate) fn linear<B: Backend>(
        &mut self,
        prefix: &str,
        linear: Linear<B>,
        device: &B::Device,
    ) -> Result<Linear<B>, LoadError> {
        let [d_in, d_out] = linear.weight.shape().dims();
        let weight = self.take(&format!("{prefix}.weight"), &[d_out, d_in])?;
        // Materialise the transpose: a strided view would change the matmul's summation order, so a
        // reloaded model would not compute bit-for-bit what the saved one did (exact resume needs it).
        let transposed = Tensor::<B, 2>::from_data(weight, device)
            .transpose()
            .into_data();
        let weight = Tensor::<B, 2>::from_data(transposed, device);
        let bias = match linear.bias {
            Some(bias) => Some(self.param(&format!("{prefix}.bias"), bias, device)?),
            None => None,
        };
        Ok(Linear {
            weight: Param::initialized(linear.weight.id, weight.require_grad()),
            bias,
        })
    }

    /// Errors unless every key was consumed.
    pub(crate) fn finish(self) -> Result<(), LoadError> {
        if self.tensors.is_empty() {
            Ok(())
        } else {
            Err(LoadError::UnusedKeys {
                path: self.path,
                keys: self.tensors.into_keys().collect(),
            })
        }
    }
}

/// `{prefix}.weight` (`[out, in]`) and `{prefix}.bias` of a burn `Linear`.
pub(crate) fn linear_state<B: Backend>(
    prefix: &str,
    linear: &Linear<B>,
) -> Vec<(String, TensorData)> {
    let mut out = vec![(
        format!("{prefix}.weight"),
        linear.weight.val().transpose().into_data(),
    )];
    if let Some(bias) = &linear.bias {
        out.push((format!("{prefix}.bias"), bias.val().into_data()));
    }
    out
}

/// A parameter under `key`, as is.
pub(crate) fn param_state<B: Backend, const D: usize>(
    key: &str,
    param: &Param<Tensor<B, D>>,
) -> (String, TensorData) {
    (key.to_string(), param.val().into_data())
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::nn::LinearConfig;

    #[test]
    fn linear_round_trips_through_torch_layout() {
        let device = Default::default();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("h.safetensors");
        let linear = LinearConfig::new(3, 2).init::<Flex>(&device);
        let mut state = linear_state("head.1", &linear);
        assert_eq!(state[0].1.shape.as_slice(), &[2, 3]);
        state.push(("other".into(), TensorData::new(vec![1.0f32], [1])));
        crate::hf::write_safetensors(&file, &state).unwrap();

        let mut tensors = NamedTensors::read(&file, |k| k.starts_with("head.")).unwrap();
        let fresh = LinearConfig::new(3, 2).init::<Flex>(&device);
        let loaded = tensors.linear("head.1", fresh, &device).unwrap();
        tensors.finish().unwrap();
        loaded
            .weight
            .val()
            .into_data()
            .assert_eq(&linear.weight.val().into_data(), true);

        let mut tensors = NamedTensors::read(&file, |_| true).unwrap();
        let wrong = LinearConfig::new(2, 3).init::<Flex>(&device);
        let err = tensors.linear("head.1", wrong, &device).unwrap_err();
        assert!(err.to_string().contains("head.1.weight"), "{err}");
        let err = tensors.finish().unwrap_err();
        assert!(err.to_string().contains("other"), "{err}");
    }
}
