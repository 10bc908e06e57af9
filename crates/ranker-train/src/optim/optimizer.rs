//! The optimiser that the training loop steps: AdamW or Adafactor over every float parameter,
//! with state keyed by module path so that checkpoints are readable and resume is exact.
//!
//! [`Optimizer::step_flat`] is the training loop's step: AdamW over the flat parameter buffer
//! in buckets ([`FlatAdam`]); Adafactor per tensor, because its second-moment statistics (row and column
//! means of 2-D parameters) and its update clipping (the RMS of each tensor's update) are
//! reductions within each tensor. [`Optimizer::step`] steps every rule per tensor; the two share
//! one state, converted between the layouts when the other step is taken.

use std::collections::HashMap;

use burn::module::{AutodiffModule, ModuleMapper, Param};
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};

use super::flat::FlatAdam;
use super::params::{ParamTable, PathStack};
use super::rules::{AdafactorState, AdamState};
use super::{Adafactor, AdamW};
use crate::config::OptimizerKind;

/// Which rule updates the parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptimizerRule {
    /// `torch.optim.AdamW`.
    AdamW(AdamW),
    /// HF `Adafactor` (no relative step, no parameter scaling).
    Adafactor(Adafactor),
}

impl OptimizerRule {
    /// The rule for a config's `train.optimizer` and `train.weight_decay`.
    pub fn from_config(kind: OptimizerKind, weight_decay: f64) -> Self {
        match kind {
            OptimizerKind::Adamw => OptimizerRule::AdamW(AdamW {
                weight_decay,
                ..AdamW::default()
            }),
            OptimizerKind::Adafactor => OptimizerRule::Adafactor(Adafactor {
                weight_decay,
                ..Adafactor::default()
            }),
        }
    }

    fn state_names(&self, rank: usize) -> &'static [&'static str] {
        match self {
            OptimizerRule::AdamW(_) => &["exp_avg", "exp_avg_sq"],
            OptimizerRule::Adafactor(_) if rank >= 2 => &["exp_avg_sq_row", "exp_avg_sq_col"],
            OptimizerRule::Adafactor(_) => &["exp_avg_sq"],
        }
    }
}

/// Optimiser state could not be restored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OptimizerStateError {
    /// A parameter's state tensor is absent.
    #[error("optimizer state: missing tensor `{key}`")]
    Missing {
        /// `<param path>.<state name>`.
        key: String,
    },
    /// A state tensor has the wrong number of elements.
    #[error("optimizer state: tensor `{key}` has {got} elements, expected {expected}")]
    Shape {
        /// `<param path>.<state name>`.
        key: String,
        /// Elements found.
        got: usize,
        /// Elements expected from the model.
        expected: usize,
    },
    /// A state tensor does not belong to any parameter of the model.
    #[error("optimizer state: tensor `{key}` matches no parameter of this model")]
    Unused {
        /// The unexpected key.
        key: String,
    },
}

/// AdamW or Adafactor with per-parameter state.
#[derive(Debug, Clone)]
pub struct Optimizer<B: Backend> {
    rule: OptimizerRule,
    steps: u64,
    state: State<B>,
}

#[derive(Debug, Clone)]
enum State<B: Backend> {
    /// Flattened state tensors per parameter path, in the order of [`OptimizerRule::state_names`].
    PerTensor(HashMap<String, Vec<Tensor<B, 1>>>),
    /// AdamW's moments over the flat parameter buffer.
    FlatAdam(FlatAdam<B>),
}

impl<B: Backend> Optimizer<B> {
    /// A fresh optimiser (no steps taken).
    pub fn new(rule: OptimizerRule) -> Self {
        Self {
            rule,
            steps: 0,
            state: State::PerTensor(HashMap::new()),
        }
    }

    /// Number of updates applied so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Applies one update with learning rate `lr` to every parameter that has a gradient.
    pub fn step<AB, M>(&mut self, module: M, grads: &GradientsParams, lr: f64) -> M
    where
        AB: AutodiffBackend<InnerBackend = B>,
        M: AutodiffModule<AB>,
    {
        self.steps += 1;
        let mut mapper = StepMapper {
            optimizer: self,
            grads,
            lr,
            stack: PathStack::default(),
        };
        module.map(&mut mapper)
    }

    /// Applies one update with learning rate `lr` to every parameter of `module`, whose
    /// parameters and gradients `table` lays out; `grad` is the flat gradient in that layout.
    /// AdamW updates the flat parameter buffer at once; Adafactor steps per tensor.
    pub fn step_flat<AB, M>(
        &mut self,
        module: M,
        table: &ParamTable,
        grad: Tensor<B, 1>,
        lr: f64,
    ) -> M
    where
        AB: AutodiffBackend<InnerBackend = B>,
        M: AutodiffModule<AB>,
    {
        let OptimizerRule::AdamW(rule) = self.rule else {
            return self.step(module, &table.unflatten(grad), lr);
        };
        self.steps += 1;
        let t = self.steps;
        let flat = self.flat_adam(table, &grad.device());
        let params = table.param_values::<AB, M>(&module);
        let params = flat.step(&rule, t, lr, params, grad);
        table.assign_param_values::<AB, M>(module, params)
    }

    /// The state per tensor, converted from the flat layout if needed.
    fn per_tensor(&mut self) -> &mut HashMap<String, Vec<Tensor<B, 1>>> {
        if let State::FlatAdam(flat) = &self.state {
            self.state = State::PerTensor(flat.clone().into_per_tensor());
        }
        match &mut self.state {
            State::PerTensor(map) => map,
            State::FlatAdam(_) => unreachable!("converted above"),
        }
    }

    /// AdamW's flat state for `table`, converted from the per-tensor layout if needed.
    fn flat_adam(&mut self, table: &ParamTable, device: &B::Device) -> &mut FlatAdam<B> {
        let ready = matches!(&self.state, State::FlatAdam(flat) if flat.is_for(table));
        if !ready {
            let per_tensor = std::mem::take(self.per_tensor());
            self.state = State::FlatAdam(FlatAdam::new(table, &per_tensor, device));
        }
        match &mut self.state {
            State::FlatAdam(flat) => flat,
            State::PerTensor(_) => unreachable!("converted above"),
        }
    }

    /// The state as named tensors (`<param path>.<exp_avg|exp_avg_sq|exp_avg_sq_row|exp_avg_sq_col>`),
    /// sorted by name, for checkpoints.
    pub fn export_state(&self) -> Vec<(String, TensorData)> {
        let per_tensor = match &self.state {
            State::PerTensor(map) => map.clone(),
            State::FlatAdam(flat) => flat.clone().into_per_tensor(),
        };
        let mut out = Vec::new();
        for (path, tensors) in &per_tensor {
            let names = self
                .rule
                .state_names(if tensors.len() == 2 { 2 } else { 1 });
            for (name, t) in names.iter().zip(tensors) {
                out.push((format!("{path}.{name}"), t.to_data()));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Restores state written by [`Optimizer::export_state`] after `steps` updates, checking every
    /// tensor against `table` (the model's parameters).
    pub fn import_state(
        &mut self,
        steps: u64,
        table: &ParamTable,
        mut tensors: HashMap<String, TensorData>,
        device: &B::Device,
    ) -> Result<(), OptimizerStateError> {
        let mut state = HashMap::new();
        if steps > 0 {
            for entry in table.entries() {
                let rank = entry.shape.len();
                let mut per_param = Vec::new();
                for (i, name) in self.rule.state_names(rank).iter().enumerate() {
                    let key = format!("{}.{name}", entry.path);
                    let data = tensors
                        .remove(&key)
                        .ok_or_else(|| OptimizerStateError::Missing { key: key.clone() })?;
                    let expected = state_numel(&self.rule, &entry.shape, i);
                    let got = data.num_elements();
                    if got != expected {
                        return Err(OptimizerStateError::Shape { key, got, expected });
                    }
                    per_param.push(Tensor::<B, 1>::from_data(data, device).reshape([got]));
                }
                state.insert(entry.path.clone(), per_param);
            }
        }
        if let Some(key) = tensors.into_keys().min() {
            return Err(OptimizerStateError::Unused { key });
        }
        self.steps = steps;
        self.state = State::PerTensor(state);
        Ok(())
    }

    fn update<const D: usize>(
        &mut self,
        path: String,
        decay: bool,
        lr: f64,
        param: Tensor<B, D>,
        grad: Tensor<B, D>,
    ) -> Tensor<B, D> {
        let dims = param.dims();
        let previous = self.per_tensor().remove(&path);
        let t = self.steps;
        let (param, flat) = match self.rule {
            OptimizerRule::AdamW(rule) => {
                let prior = previous.map(|mut s| {
                    let exp_avg_sq = s.pop().expect("two tensors").reshape(dims);
                    let exp_avg = s.pop().expect("two tensors").reshape(dims);
                    AdamState {
                        exp_avg,
                        exp_avg_sq,
                    }
                });
                let (param, s) = rule.step(t, lr, decay, param, grad, prior);
                (param, vec![flatten(s.exp_avg), flatten(s.exp_avg_sq)])
            }
            OptimizerRule::Adafactor(rule) => {
                let prior = previous.map(|mut s| match D {
                    1 => AdafactorState::Full(s.pop().expect("one tensor").reshape(dims)),
                    _ => {
                        let col = s.pop().expect("two tensors").reshape(reduced(dims, D - 2));
                        let row = s.pop().expect("two tensors").reshape(reduced(dims, D - 1));
                        AdafactorState::Factored { row, col }
                    }
                });
                let (param, s) = rule.step(t, lr, decay, param, grad, prior);
                let flat = match s {
                    AdafactorState::Factored { row, col } => vec![flatten(row), flatten(col)],
                    AdafactorState::Full(v) => vec![flatten(v)],
                };
                (param, flat)
            }
        };
        self.per_tensor().insert(path, flat);
        param
    }
}

fn flatten<B: Backend, const D: usize>(t: Tensor<B, D>) -> Tensor<B, 1> {
    let n = t.shape().num_elements();
    t.reshape([n])
}

fn reduced<const D: usize>(mut dims: [usize; D], axis: usize) -> [usize; D] {
    dims[axis] = 1;
    dims
}

fn state_numel(rule: &OptimizerRule, shape: &[usize], index: usize) -> usize {
    let total: usize = shape.iter().product();
    match rule {
        OptimizerRule::Adafactor(_) if shape.len() >= 2 => {
            let axis = if index == 0 {
                shape.len() - 1
            } else {
                shape.len() - 2
            };
            total / shape[axis].max(1)
        }
        _ => total,
    }
}

struct StepMapper<'a, B: Backend> {
    optimizer: &'a mut Optimizer<B>,
    grads: &'a GradientsParams,
    lr: f64,
    stack: PathStack,
}

impl<AB> ModuleMapper<AB> for StepMapper<'_, AB::InnerBackend>
where
    AB: AutodiffBackend,
{
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.stack.enter(name, container_type);
    }

    fn exit_module(&mut self, _name: &str, container_type: &str) {
        self.stack.exit(container_type);
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<AB, D>>) -> Param<Tensor<AB, D>> {
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = self.grads.get::<AB::InnerBackend, D>(id) else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let require_grad = tensor.is_require_grad();
        let updated = self.optimizer.update(
            self.stack.path(),
            self.stack.decays(),
            self.lr,
            tensor.inner(),
            grad,
        );
        let mut tensor = Tensor::from_inner(updated);
        if require_grad {
            tensor = tensor.require_grad();
        }
        Param::from_mapped_value(id, tensor, mapper)
    }
}
