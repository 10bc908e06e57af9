//! Loading Hugging Face weights into a [`Backbone`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use burn::tensor::{backend::Backend, get_device_settings, DType};
use burn_store::{
    ApplyError, ModuleAdapter, ModuleSnapshot, ModuleStore, PyTorchToBurnAdapter, PytorchStore,
    SafetensorsStore, TensorSnapshot,
};

use super::remap::{allowed_unused, KeyMap, Prefix, RANKER_BACKBONE_PREFIX, T5_TIED_EMBEDDING};
use crate::backbone::{Backbone, BackboneConfig};
use crate::error::LoadError;

/// Checkpoint keys outside the backbone prefix (e.g. a ranker's `head_layer.*`), as spelled in the
/// file, sorted. The caller decides what to do with them; [`read_safetensors_filtered`] reads them.
///
/// [`read_safetensors_filtered`]: super::read_safetensors_filtered
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnusedKeys(pub Vec<String>);

impl UnusedKeys {
    /// The keys.
    pub fn keys(&self) -> &[String] {
        &self.0
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The weights file of a HF model directory: `model.safetensors`, else `pytorch_model.bin`.
pub fn find_weights(dir: &Path) -> Result<PathBuf, LoadError> {
    ["model.safetensors", "pytorch_model.bin"]
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| LoadError::MissingWeights {
            dir: dir.to_path_buf(),
        })
}

/// Loads a HF model directory: `config.json` plus `model.safetensors` or `pytorch_model.bin`.
///
/// Checkpoints of transformers' base models (`DebertaV2Model`, keys `embeddings.…`) and of its task
/// models (`DebertaV2ForMaskedLM`, keys `deberta.embeddings.…`) both load; every backbone parameter
/// must be present and every other key must be on the allowlist (`pooler.*`, MLM/RTD heads, position
/// buffers, see [`crate::hf`]), otherwise the error names the keys.
pub fn load_backbone<B: Backend>(
    dir: &Path,
    device: &B::Device,
) -> Result<(Backbone<B>, BackboneConfig), LoadError> {
    let config = BackboneConfig::from_file(&dir.join("config.json"))?;
    let file = find_weights(dir)?;
    let (backbone, _) = load_weights(config.init(device), &file, Prefix::Auto, device)?;
    Ok((backbone, config))
}

/// Like [`load_backbone`], with a config of the caller's (e.g. the directory's `config.json` with other
/// dropout probabilities); its shapes must match the checkpoint's.
pub fn load_backbone_with_config<B: Backend>(
    dir: &Path,
    config: &BackboneConfig,
    device: &B::Device,
) -> Result<Backbone<B>, LoadError> {
    let file = find_weights(dir)?;
    let (backbone, _) = load_weights(config.init(device), &file, Prefix::Auto, device)?;
    Ok(backbone)
}

/// Loads backbone weights from a `.safetensors` or PyTorch (`.bin`/`.pt`) file whose backbone keys
/// start with `prefix` (`"deberta."`, `"bert."`, `""`, or `"pretrained_model."` for PairRM-layout
/// checkpoints).
///
/// Keys without the prefix are returned as [`UnusedKeys`] for the caller; keys with it must all be
/// used (or allowlisted) and every backbone parameter must be present, otherwise the error names the
/// keys. Float tensors are converted to the device's default float dtype.
pub fn load_backbone_weights<B: Backend>(
    backbone: Backbone<B>,
    file: &Path,
    prefix: &str,
    device: &B::Device,
) -> Result<(Backbone<B>, UnusedKeys), LoadError> {
    load_weights(backbone, file, Prefix::Exact(prefix), device)
}

/// Converts float tensors to one dtype (checkpoints are often f16/bf16, the model f32).
#[derive(Debug, Clone)]
struct CastFloats(DType);

impl ModuleAdapter for CastFloats {
    fn adapt(&self, snapshot: &TensorSnapshot) -> TensorSnapshot {
        let target = self.0;
        if !snapshot.dtype.is_float() || snapshot.dtype == target {
            return snapshot.clone();
        }
        let data = snapshot.clone_data_fn();
        TensorSnapshot::from_closure(
            Rc::new(move || Ok(data()?.convert_dtype(target))),
            target,
            snapshot.shape.clone(),
            snapshot.path_stack.clone().unwrap_or_default(),
            snapshot.container_stack.clone().unwrap_or_default(),
            snapshot.tensor_id.unwrap_or_default(),
        )
    }

    fn clone_box(&self) -> Box<dyn ModuleAdapter> {
        Box::new(self.clone())
    }
}

fn read_snapshots(file: &Path) -> Result<Vec<(String, TensorSnapshot)>, LoadError> {
    let collect = |map: &std::collections::BTreeMap<String, TensorSnapshot>| {
        map.iter()
            .map(|(k, s)| (k.clone(), s.clone()))
            .collect::<Vec<_>>()
    };
    if !file.is_file() {
        return Err(LoadError::Io {
            path: file.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    if file.extension().is_some_and(|e| e == "safetensors") {
        let mut store = SafetensorsStore::from_file(file);
        let map = store
            .get_all_snapshots()
            .map_err(|source| LoadError::SafetensorsStore {
                path: file.to_path_buf(),
                source,
            })?;
        Ok(collect(map))
    } else {
        let mut store = PytorchStore::from_file(file).map_indices_contiguous(false);
        let map = store
            .get_all_snapshots()
            .map_err(|source| LoadError::Pytorch {
                path: file.to_path_buf(),
                source,
            })?;
        Ok(collect(map))
    }
}

fn load_weights<B: Backend>(
    mut backbone: Backbone<B>,
    file: &Path,
    prefix: Prefix<'_>,
    device: &B::Device,
) -> Result<(Backbone<B>, UnusedKeys), LoadError> {
    let mut outside = Vec::new();
    let mut origin: HashMap<String, String> = HashMap::new();
    let mut file_shapes: HashMap<String, Vec<usize>> = HashMap::new();
    let mut snapshots = Vec::new();
    let all = read_snapshots(file)?;
    // A ranker checkpoint's directory (ours or PairRM's) holds the backbone under `pretrained_model.`
    // next to the head: `Auto` then reads just the backbone and leaves the head keys to the caller.
    let prefix = match prefix {
        Prefix::Auto
            if all
                .iter()
                .any(|(k, _)| k.starts_with(RANKER_BACKBONE_PREFIX)) =>
        {
            Prefix::Exact(RANKER_BACKBONE_PREFIX)
        }
        other => other,
    };
    let keys = KeyMap::of(&backbone);
    // T5 files written without tied duplicates may keep the encoder's name for the shared embedding.
    let tied_is_shared = keys == KeyMap::T5
        && !all
            .iter()
            .any(|(k, _)| prefix.strip(k) == Some("shared.weight"));
    for (key, mut snapshot) in all {
        let Some(rest) = prefix.strip(&key) else {
            outside.push(key);
            continue;
        };
        let path = if tied_is_shared && rest == T5_TIED_EMBEDDING {
            "shared.weight".to_string()
        } else {
            keys.hf_to_burn(rest)
        };
        if let Some(first) = origin.get(&path) {
            return Err(LoadError::Tensor {
                path: file.to_path_buf(),
                key,
                message: format!("maps to the same parameter as '{first}'"),
            });
        }
        snapshot.path_stack = Some(path.split('.').map(str::to_string).collect());
        file_shapes.insert(path.clone(), snapshot.shape.to_vec());
        origin.insert(path, key);
        snapshots.push(snapshot);
    }
    let hf_key = |path: &str| match prefix {
        Prefix::Exact(p) => format!("{p}{}", keys.burn_to_hf(path)),
        Prefix::Auto => keys.burn_to_hf(path),
    };

    let float_dtype: DType = get_device_settings::<B>(device).float_dtype.into();
    let adapter = PyTorchToBurnAdapter.chain(CastFloats(float_dtype));
    let result = backbone.apply(snapshots, None, Some(Box::new(adapter)), true);

    if let Some(error) = result.errors.first() {
        return Err(match error {
            ApplyError::ShapeMismatch {
                path,
                expected,
                found,
            } => {
                let file_shape = file_shapes.get(path).cloned().unwrap_or_default();
                // Linear weights were transposed on the way in: report both shapes in HF layout.
                let expected = if file_shape == found.to_vec() {
                    expected.to_vec()
                } else {
                    expected.iter().rev().copied().collect()
                };
                LoadError::ShapeMismatch {
                    path: file.to_path_buf(),
                    key: origin.get(path).cloned().unwrap_or_else(|| hf_key(path)),
                    expected,
                    found: file_shape,
                }
            }
            ApplyError::DTypeMismatch { path, .. }
            | ApplyError::AdapterError { path, .. }
            | ApplyError::LoadError { path, .. } => LoadError::Tensor {
                path: file.to_path_buf(),
                key: origin.get(path).cloned().unwrap_or_else(|| hf_key(path)),
                message: error.to_string(),
            },
        });
    }
    if !result.missing.is_empty() {
        let mut keys: Vec<String> = result.missing.iter().map(|(p, _)| hf_key(p)).collect();
        keys.sort();
        return Err(LoadError::MissingKeys {
            path: file.to_path_buf(),
            keys,
        });
    }
    let mut unused = Vec::new();
    let mut decoder_keys = 0usize;
    for path in &result.unused {
        let key = origin.get(path).cloned().unwrap_or_else(|| hf_key(path));
        let stripped = prefix.strip(&key).unwrap_or(&key);
        match allowed_unused(stripped) {
            Some(reason) => {
                decoder_keys += usize::from(stripped.starts_with("decoder."));
                tracing::debug!(key = %key, reason, "ignoring checkpoint key")
            }
            None => unused.push(key),
        }
    }
    if decoder_keys > 0 {
        tracing::info!(
            file = %file.display(),
            "ignoring the {decoder_keys} decoder tensors of this full encoder-decoder checkpoint: \
             the backbone is its encoder"
        );
    }
    if !unused.is_empty() {
        unused.sort();
        return Err(LoadError::UnusedKeys {
            path: file.to_path_buf(),
            keys: unused,
        });
    }
    tracing::debug!(
        file = %file.display(),
        applied = result.applied.len(),
        outside = outside.len(),
        "loaded backbone weights"
    );
    outside.sort();
    Ok((backbone, UnusedKeys(outside)))
}
