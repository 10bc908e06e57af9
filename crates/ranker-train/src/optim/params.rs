//! The trainable parameters of a module in a fixed order, with their dotted module paths.
//!
//! The order is burn's visiting order (struct field order), identical on every rank, so it is
//! the layout of the flat gradient buffer that is all-reduced and of the optimiser state.

use burn::module::{AutodiffModule, Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;

/// One float parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamEntry {
    /// Dotted module path, e.g. `backbone.DebertaV2.encoder.layer.0.intermediate.dense.weight`.
    pub path: String,
    /// burn's parameter id (keys the gradients).
    pub id: ParamId,
    /// Tensor shape.
    pub shape: Vec<usize>,
    /// Offset of this parameter in the flat buffer.
    pub offset: usize,
    /// False for biases and normalisation weights (no weight decay, as HF's Trainer groups them).
    pub decay: bool,
}

impl ParamEntry {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// All float parameters of a module, in visiting order.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamTable {
    entries: Vec<ParamEntry>,
    numel: usize,
}

impl ParamTable {
    /// Walks `module` once.
    pub fn of<B: Backend, M: Module<B>>(module: &M) -> Self {
        let mut visitor = TableVisitor::default();
        module.visit(&mut visitor);
        Self {
            numel: visitor.offset,
            entries: visitor.entries,
        }
    }

    /// Parameters in order.
    pub fn entries(&self) -> &[ParamEntry] {
        &self.entries
    }

    /// Total number of scalars.
    pub fn numel(&self) -> usize {
        self.numel
    }

    /// Concatenates the gradients into one `[numel]` tensor in table order; a parameter without
    /// a gradient contributes zeros, so every rank's buffer has the same layout.
    pub fn flatten<B: Backend>(&self, grads: &GradientsParams, device: &B::Device) -> Tensor<B, 1> {
        let parts: Vec<Tensor<B, 1>> = self
            .entries
            .iter()
            .map(|e| {
                grad_as_flat::<B>(grads, e).unwrap_or_else(|| Tensor::zeros([e.numel()], device))
            })
            .collect();
        Tensor::cat(parts, 0)
    }

    /// Splits a flat buffer back into per-parameter gradients.
    pub fn unflatten<B: Backend>(&self, flat: Tensor<B, 1>) -> GradientsParams {
        let mut grads = GradientsParams::new();
        for e in &self.entries {
            let part = flat.clone().slice(e.offset..e.offset + e.numel());
            register_reshaped(&mut grads, e, part);
        }
        grads
    }
}

impl ParamTable {
    /// The parameter values of `module` as one `[numel]` tensor in table order (inner backend).
    pub fn flatten_params<AB: AutodiffBackend, M: AutodiffModule<AB>>(
        &self,
        module: &M,
    ) -> Tensor<AB::InnerBackend, 1> {
        Tensor::cat(self.param_values::<AB, M>(module), 0)
    }

    /// The parameter values of `module`, one `[numel]` tensor per entry, in table order.
    pub fn param_values<AB: AutodiffBackend, M: AutodiffModule<AB>>(
        &self,
        module: &M,
    ) -> Vec<Tensor<AB::InnerBackend, 1>> {
        let mut visitor = ParamCollector::<AB::InnerBackend> { parts: Vec::new() };
        module.valid().visit(&mut visitor);
        visitor.parts
    }

    /// Replaces every parameter of `module` with its slice of `flat` (same layout as
    /// [`ParamTable::flatten_params`]); ids and `require_grad` are kept.
    pub fn assign_params<AB: AutodiffBackend, M: AutodiffModule<AB>>(
        &self,
        module: M,
        flat: Tensor<AB::InnerBackend, 1>,
    ) -> M {
        let values = self
            .entries
            .iter()
            .map(|e| flat.clone().slice(e.offset..e.offset + e.numel()))
            .collect();
        self.assign_param_values::<AB, M>(module, values)
    }

    /// Replaces every parameter of `module` with its tensor of `values` (one `[numel]` tensor per
    /// entry, in table order); ids and `require_grad` are kept.
    pub fn assign_param_values<AB: AutodiffBackend, M: AutodiffModule<AB>>(
        &self,
        module: M,
        values: Vec<Tensor<AB::InnerBackend, 1>>,
    ) -> M {
        assert_eq!(values.len(), self.entries.len(), "one value per parameter");
        let mut mapper = ParamAssigner::<AB::InnerBackend> {
            values: values.into_iter(),
        };
        module.map(&mut mapper)
    }
}

struct ParamCollector<B: Backend> {
    parts: Vec<Tensor<B, 1>>,
}

impl<B: Backend> ModuleVisitor<B> for ParamCollector<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let value = param.val();
        let n = value.shape().num_elements();
        self.parts.push(value.reshape([n]));
    }
}

struct ParamAssigner<B: Backend> {
    values: std::vec::IntoIter<Tensor<B, 1>>,
}

impl<AB: AutodiffBackend> ModuleMapper<AB> for ParamAssigner<AB::InnerBackend> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<AB, D>>) -> Param<Tensor<AB, D>> {
        let (id, tensor, mapper) = param.consume();
        let part = self
            .values
            .next()
            .expect("one value per parameter")
            .reshape(tensor.dims());
        let mut value = Tensor::from_inner(part);
        if tensor.is_require_grad() {
            value = value.require_grad();
        }
        Param::from_mapped_value(id, value, mapper)
    }
}

fn grad_as_flat<B: Backend>(grads: &GradientsParams, e: &ParamEntry) -> Option<Tensor<B, 1>> {
    let n = e.numel();
    match e.shape.len() {
        1 => grads.get::<B, 1>(e.id),
        2 => grads.get::<B, 2>(e.id).map(|t| t.reshape([n])),
        3 => grads.get::<B, 3>(e.id).map(|t| t.reshape([n])),
        4 => grads.get::<B, 4>(e.id).map(|t| t.reshape([n])),
        d => panic!("parameter {} has rank {d}; ranks 1–4 are supported", e.path),
    }
}

fn register_reshaped<B: Backend>(grads: &mut GradientsParams, e: &ParamEntry, flat: Tensor<B, 1>) {
    let s = &e.shape;
    match s.len() {
        1 => grads.register(e.id, flat),
        2 => grads.register(e.id, flat.reshape([s[0], s[1]])),
        3 => grads.register(e.id, flat.reshape([s[0], s[1], s[2]])),
        4 => grads.register(e.id, flat.reshape([s[0], s[1], s[2], s[3]])),
        d => panic!("parameter {} has rank {d}; ranks 1–4 are supported", e.path),
    }
}

/// Tracks the dotted module path during a visit or a map.
#[derive(Debug, Default)]
pub(crate) struct PathStack {
    segments: Vec<String>,
    norm_depth: usize,
}

impl PathStack {
    pub(crate) fn enter(&mut self, name: &str, container_type: &str) {
        self.segments.push(name.to_string());
        if is_norm_container(container_type) {
            self.norm_depth += 1;
        }
    }

    pub(crate) fn exit(&mut self, container_type: &str) {
        self.segments.pop();
        if is_norm_container(container_type) {
            self.norm_depth -= 1;
        }
    }

    pub(crate) fn path(&self) -> String {
        self.segments.join(".")
    }

    /// HF's Trainer excludes biases and LayerNorm weights from weight decay.
    pub(crate) fn decays(&self) -> bool {
        let leaf = self.segments.last().map(String::as_str).unwrap_or("");
        self.norm_depth == 0 && leaf != "bias"
    }
}

fn is_norm_container(container_type: &str) -> bool {
    matches!(container_type, "Struct:LayerNorm" | "Struct:RmsNorm")
}

#[derive(Default)]
struct TableVisitor {
    stack: PathStack,
    entries: Vec<ParamEntry>,
    offset: usize,
}

impl<B: Backend> ModuleVisitor<B> for TableVisitor {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.stack.enter(name, container_type);
    }

    fn exit_module(&mut self, _name: &str, container_type: &str) {
        self.stack.exit(container_type);
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let shape = param.val().dims().to_vec();
        let entry = ParamEntry {
            path: self.stack.path(),
            id: param.id,
            offset: self.offset,
            decay: self.stack.decays(),
            shape,
        };
        self.offset += entry.numel();
        self.entries.push(entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};

    type B = Flex;

    #[derive(Module, Debug)]
    struct Tiny<B: Backend> {
        dense: Linear<B>,
        layer_norm: LayerNorm<B>,
        blocks: Vec<Linear<B>>,
    }

    fn tiny<B: Backend>(device: &B::Device) -> Tiny<B> {
        Tiny {
            dense: LinearConfig::new(3, 2).init(device),
            layer_norm: LayerNormConfig::new(2).init(device),
            blocks: vec![LinearConfig::new(2, 2).with_bias(false).init(device)],
        }
    }

    #[test]
    fn paths_offsets_and_decay_groups() {
        let device = Default::default();
        let table = ParamTable::of(&tiny::<B>(&device));
        let rows: Vec<(&str, usize, bool)> = table
            .entries()
            .iter()
            .map(|e| (e.path.as_str(), e.offset, e.decay))
            .collect();
        assert_eq!(
            rows,
            [
                ("dense.weight", 0, true),
                ("dense.bias", 6, false),
                ("layer_norm.gamma", 8, false),
                ("layer_norm.beta", 10, false),
                ("blocks.0.weight", 12, true),
            ]
        );
        assert_eq!(table.numel(), 16);
    }

    #[test]
    fn flatten_then_unflatten_is_identity() {
        type AB = Autodiff<B>;
        let device = Default::default();
        let model = tiny::<AB>(&device);
        let x = Tensor::<AB, 2>::from_floats([[1.0, -2.0, 0.5]], &device);
        let y = model.layer_norm.forward(model.dense.forward(x));
        let loss = model.blocks[0].forward(y).sum();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let table = ParamTable::of(&model);
        let flat = table.flatten::<B>(&grads, &device);
        assert_eq!(flat.dims(), [16]);
        let again = table.flatten::<B>(&table.unflatten(flat.clone()), &device);
        assert_eq!(flat.into_data(), again.into_data());
    }
}
