//! Exporting a [`Backbone`]'s parameters (and gradients) under Hugging Face names and layouts.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use burn_store::{BurnToPyTorchAdapter, ModuleSnapshot};

use super::remap::KeyMap;
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
    let keys = KeyMap::of(backbone);
    let mut tensors: Vec<(String, TensorData)> = backbone
        .collect(None, Some(Box::new(BurnToPyTorchAdapter)), true)
        .into_iter()
        .map(|snapshot| {
            let key = format!("{prefix}{}", keys.burn_to_hf(&snapshot.full_path()));
            let data = snapshot
                .to_data()
                .unwrap_or_else(|e| panic!("reading parameter {key}: {e:?}"));
            (key, data)
        })
        .collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    tensors
}

/// Collects the gradients of a backbone's parameters under HF names.
struct GradientCollector<'a, B: AutodiffBackend> {
    grads: &'a B::Gradients,
    prefix: &'a str,
    keys: KeyMap,
    path: Vec<String>,
    containers: Vec<String>,
    out: Vec<(String, TensorData)>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for GradientCollector<'_, B> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.containers.push(container_type.to_string());
        if !container_type.starts_with("Enum:") {
            self.path.push(name.to_string());
        }
    }

    fn exit_module(&mut self, _name: &str, container_type: &str) {
        self.containers.pop();
        if !container_type.starts_with("Enum:") {
            self.path.pop();
        }
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let Some(grad) = param.val().grad(self.grads) else {
            return;
        };
        // Linear weights are stored [in, out]; HF layout is [out, in].
        let is_linear_weight = D == 2
            && self.containers.last().map(String::as_str) == Some("Struct:Linear")
            && self.path.last().map(String::as_str) == Some("weight");
        let grad = if is_linear_weight {
            grad.transpose()
        } else {
            grad
        };
        let key = format!(
            "{}{}",
            self.prefix,
            self.keys.burn_to_hf(&self.path.join("."))
        );
        self.out.push((key, grad.into_data()));
    }
}

/// The gradients of the backbone's parameters after `loss.backward()`, under the HF names and in
/// the HF layouts of [`backbone_state_dict`] (parameters without a gradient are left out), sorted by
/// key. For comparing with PyTorch's `param.grad` and for debugging training.
pub fn backbone_gradients<B: AutodiffBackend>(
    backbone: &Backbone<B>,
    grads: &B::Gradients,
    prefix: &str,
) -> Vec<(String, TensorData)> {
    let mut collector = GradientCollector::<B> {
        grads,
        prefix,
        keys: KeyMap::of(backbone),
        path: Vec::new(),
        containers: Vec::new(),
        out: Vec::new(),
    };
    backbone.visit(&mut collector);
    let mut out = collector.out;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
