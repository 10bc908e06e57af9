//! Exporting a [`Backbone`] under Hugging Face names and layouts.

use burn::tensor::{backend::Backend, TensorData};
use burn_store::{BurnToPyTorchAdapter, ModuleSnapshot};

use super::remap::burn_to_hf;
use crate::backbone::Backbone;

/// The backbone's parameters under HF names with `prefix` prepended, in HF layouts (`Linear` weights
/// `[out, in]`, LayerNorm `weight`/`bias`), sorted by key.
///
/// Written with [`write_safetensors`](super::write_safetensors) under prefix `""` (with a
/// `config.json` from [`BackboneConfig::write_file`](crate::BackboneConfig::write_file)) they form a
/// directory transformers' `AutoModel.from_pretrained` loads; under `"pretrained_model."` (plus the
/// head's keys) they form a PairRM-layout checkpoint.
pub fn backbone_state_dict<B: Backend>(
    backbone: &Backbone<B>,
    prefix: &str,
) -> Vec<(String, TensorData)> {
    let mut tensors: Vec<(String, TensorData)> = backbone
        .collect(None, Some(Box::new(BurnToPyTorchAdapter)), true)
        .into_iter()
        .map(|snapshot| {
            let key = format!("{prefix}{}", burn_to_hf(&snapshot.full_path()));
            let data = snapshot
                .to_data()
                .unwrap_or_else(|e| panic!("reading parameter {key}: {e:?}"));
            (key, data)
        })
        .collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    tensors
}
