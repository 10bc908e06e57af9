//! AdamW over the flat parameter buffer: the moments are two `[numel]` buffers in parameter-table
//! order, so one step is a few whole-buffer ops instead of a dozen per parameter tensor. Every op
//! is elementwise, so the result equals the per-tensor step's.

use std::collections::HashMap;

use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Tensor, TensorData};

use super::params::ParamTable;
use super::rules::{AdamState, AdamW};

/// AdamW's state laid out like the flat gradient of `table`.
#[derive(Debug, Clone)]
pub(super) struct FlatAdam<B: Backend> {
    table: ParamTable,
    /// True where the parameter takes weight decay ([`super::ParamEntry::decay`]).
    decay: Tensor<B, 1, Bool>,
    /// `None` before the first step.
    moments: Option<AdamState<B, 1>>,
}

impl<B: Backend> FlatAdam<B> {
    /// Lays out per-parameter moments (`[exp_avg, exp_avg_sq]` by path, as
    /// [`super::Optimizer`] keeps them per tensor) flat; a parameter without moments gets zeros,
    /// which is what AdamW starts from.
    pub(super) fn new(
        table: &ParamTable,
        per_tensor: &HashMap<String, Vec<Tensor<B, 1>>>,
        device: &B::Device,
    ) -> Self {
        let mask: Vec<bool> = table
            .entries()
            .iter()
            .flat_map(|e| std::iter::repeat_n(e.decay, e.numel()))
            .collect();
        let decay = Tensor::from_data(TensorData::new(mask, [table.numel()]), device);
        let moments = (!per_tensor.is_empty()).then(|| {
            let flat = |index: usize| {
                let parts = table.entries().iter().map(|e| {
                    per_tensor
                        .get(&e.path)
                        .map(|s| s[index].clone())
                        .unwrap_or_else(|| Tensor::zeros([e.numel()], device))
                });
                Tensor::cat(parts.collect(), 0)
            };
            AdamState {
                exp_avg: flat(0),
                exp_avg_sq: flat(1),
            }
        });
        Self {
            table: table.clone(),
            decay,
            moments,
        }
    }

    /// Whether this state is laid out for `table`.
    pub(super) fn is_for(&self, table: &ParamTable) -> bool {
        self.table == *table
    }

    /// One AdamW step of the flat `param` buffer with the flat `grad`.
    pub(super) fn step(
        &mut self,
        rule: &AdamW,
        t: u64,
        lr: f64,
        param: Tensor<B, 1>,
        grad: Tensor<B, 1>,
    ) -> Tensor<B, 1> {
        let (param, moments) =
            rule.step_masked(t, lr, &self.decay, param, grad, self.moments.take());
        self.moments = Some(moments);
        param
    }

    /// The moments per parameter path (`[exp_avg, exp_avg_sq]`); empty before the first step.
    pub(super) fn into_per_tensor(self) -> HashMap<String, Vec<Tensor<B, 1>>> {
        let Some(moments) = self.moments else {
            return HashMap::new();
        };
        self.table
            .entries()
            .iter()
            .map(|e| {
                let range = e.offset..e.offset + e.numel();
                let parts = vec![
                    moments.exp_avg.clone().slice(range.clone()),
                    moments.exp_avg_sq.clone().slice(range),
                ];
                (e.path.clone(), parts)
            })
            .collect()
    }
}
