//! SummaReranker (Ravaut et al. 2022, arXiv 2203.06569) as LLM-Blender implements it: the first token of the
//! last layer, a shared bottom, a noisy top-k mixture of experts with one gate per metric, and one tower per metric.
// https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/ranker.py#L13

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

use super::moe::{GateNoise, Moe, MoeConfig};
use crate::backbone::{Backbone, BackboneInput};
use crate::collate::ScrBatch;
#[allow(unused_imports)] // intra-doc links
use crate::loss::best_candidate_labels;
use crate::loss::moe_bce_loss;

/// Configuration of a [`SummaReranker`] (the reference's `n_tasks`).
#[derive(Config, Debug)]
pub struct SummaRerankerConfig {
    /// Number of metrics (tasks); the MoE gets `2·n_tasks` experts and uses `n_tasks` per example.
    #[config(default = 1)]
    pub n_tasks: usize,
}

impl SummaRerankerConfig {
    /// A SummaReranker on `backbone`: `fc1`, `fc2` and the towers are torch-default `Linear`s, the MoE's gates start
    /// at 0 (as the reference).
    pub fn init<B: Backend>(&self, backbone: Backbone<B>, device: &B::Device) -> SummaReranker<B> {
        let hidden = backbone.hidden_size();
        let t = self.n_tasks;
        SummaReranker {
            pretrained_model: backbone,
            fc1: LinearConfig::new(hidden, hidden).init(device),
            fc2: LinearConfig::new(hidden, hidden).init(device),
            moe: MoeConfig::new(t, hidden, hidden, 2 * t, hidden, t).init(device),
            towers: (0..t)
                .map(|_| LinearConfig::new(hidden, 1).init(device))
                .collect(),
        }
    }
}

/// SummaReranker; checkpoint keys `pretrained_model.*`, `fc1.*`, `fc2.*`, `moe.*`, `towers.{t}.*`.
#[derive(Module, Debug)]
pub struct SummaReranker<B: Backend> {
    /// The encoder.
    pub pretrained_model: Backbone<B>,
    /// Shared bottom, first layer (`H → H`).
    pub fc1: Linear<B>,
    /// Shared bottom, second layer (`H → H`).
    pub fc2: Linear<B>,
    /// The per-task gated mixture of experts.
    pub moe: Moe<B>,
    /// One `Linear(H → 1)` per task.
    pub towers: Vec<Linear<B>>,
}

/// A SummaReranker batch on a device.
#[derive(Debug, Clone)]
pub struct SummaInput<B: Backend> {
    /// `[items · n_candidates, seq]`, item-major.
    pub input_ids: Tensor<B, 2, Int>,
    /// `[items · n_candidates, seq]`.
    pub attention_mask: Tensor<B, 2, Int>,
    /// Number of items.
    pub n_items: usize,
    /// Candidates per item.
    pub n_candidates: usize,
}

impl<B: Backend> SummaInput<B> {
    /// Moves a collated [`ScrBatch`] to `device`, dropping columns that are padding in every row (the reference
    /// keeps them; masked positions do not change the first token's output).
    pub fn from_batch(batch: &ScrBatch, device: &B::Device) -> Self {
        let mut tokens = batch.tokens.clone();
        tokens.trim_pad_columns();
        let (input_ids, attention_mask) = tokens.to_tensors(device);
        Self {
            input_ids,
            attention_mask,
            n_items: batch.n_items,
            n_candidates: batch.n_candidates,
        }
    }
}

/// What [`SummaReranker::forward`] returns.
#[derive(Debug, Clone)]
pub struct SummaOutput<B: Backend> {
    /// `[items, n_candidates, n_tasks]`: the towers' logits.
    pub pred: Tensor<B, 3>,
    /// `[1]`: the MoE load-balancing loss (part of the training loss).
    pub aux_loss: Tensor<B, 1>,
}

impl<B: Backend> SummaOutput<B> {
    /// The ranking score `sigmoid(mean_tasks pred)`, `[items, n_candidates]`; higher is better.
    pub fn scores(&self) -> Tensor<B, 2> {
        let [items, n, _] = self.pred.dims();
        sigmoid(self.pred.clone().mean_dim(2).reshape([items, n]))
    }

    /// The `MoE_BCE` training loss against labels from [`best_candidate_labels`](crate::loss::best_candidate_labels) (computed over all candidates,
    /// then selected like the inputs).
    ///
    /// # Shapes
    /// - `labels`: `[items, n_candidates, n_tasks]`
    pub fn loss(&self, labels: Tensor<B, 3>) -> Tensor<B, 1> {
        moe_bce_loss(self.pred.clone(), labels, self.aux_loss.clone())
    }
}

impl<B: Backend> SummaReranker<B> {
    /// Scores every candidate. Under an autodiff backend (training) the gates get noise from the backend's seeded
    /// RNG; otherwise (`.valid()`, inference) the gates are clean.
    pub fn forward(&self, input: SummaInput<B>) -> SummaOutput<B> {
        let noise = if B::ad_enabled(&input.input_ids.device()) {
            GateNoise::Sampled
        } else {
            GateNoise::Clean
        };
        self.forward_with_noise(input, noise)
    }

    /// [`SummaReranker::forward`] with explicit gating noise ([`GateNoise::Given`] makes training mode
    /// reproducible).
    ///
    /// ```text
    /// e    = backbone(input)[:, 0, :]                  first token of the last layer
    /// b    = fc2(relu(fc1(e)))                         shared bottom (no dropout)
    /// y_t  = MoE_t(b)                                  see [`Moe::forward`]
    /// pred = [tower_t(y_t)]_t                          [items, n_candidates, n_tasks]
    /// ```
    pub fn forward_with_noise(&self, input: SummaInput<B>, noise: GateNoise<B>) -> SummaOutput<B> {
        let (items, n) = (input.n_items, input.n_candidates);
        let hidden = self
            .pretrained_model
            .forward(BackboneInput::new(input.input_ids, input.attention_mask));
        let [rows, _, width] = hidden.dims();
        let first = hidden.narrow(1, 0, 1).reshape([rows, width]);
        let bottom = self.fc2.forward(relu(self.fc1.forward(first)));
        let moe = self.moe.forward(bottom, noise);
        let pred = Tensor::cat(
            moe.outputs
                .into_iter()
                .zip(&self.towers)
                .map(|(y, tower)| tower.forward(y))
                .collect(),
            1,
        );
        let tasks = self.towers.len();
        SummaOutput {
            pred: pred.reshape([items, n, tasks]),
            aux_loss: moe.aux_loss,
        }
    }

    /// Number of tasks.
    pub fn n_tasks(&self) -> usize {
        self.towers.len()
    }
}

/// Keeps, for every item `b`, the candidates `selected[b]` (in that order) of a `[items, n_candidates, …]`
/// tensor, e.g. the [`best_candidate_labels`](crate::loss::best_candidate_labels) of all candidates after sub-sampling.
///
/// # Panics
/// If the rows of `selected` differ in length or name a candidate out of range.
pub fn select_candidates<B: Backend, const D: usize>(
    tensor: Tensor<B, D>,
    selected: &[Vec<usize>],
) -> Tensor<B, D> {
    let dims = tensor.dims();
    let (items, n) = (dims[0], dims[1]);
    let keep = selected.first().map_or(0, Vec::len);
    let mut flat = Vec::with_capacity(items * keep);
    for (b, row) in selected.iter().enumerate() {
        assert_eq!(
            row.len(),
            keep,
            "item {b}: {} selected, expected {keep}",
            row.len()
        );
        for &c in row {
            assert!(c < n, "item {b}: candidate {c} of {n}");
            flat.push((b * n + c) as i64);
        }
    }
    let mut merged = dims;
    merged[1] = items * n;
    merged[0] = 1;
    let device = tensor.device();
    let index = Tensor::<B, 1, Int>::from_data(TensorData::new(flat, [items * keep]), &device);
    let mut out = dims;
    out[1] = keep;
    tensor.reshape(merged).select(1, index).reshape(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::TensorData;

    #[test]
    fn selection_keeps_the_named_candidates_in_order() {
        let device = Default::default();
        let t = Tensor::<Flex, 3>::from_floats(
            [[[0.0], [1.0], [2.0]], [[10.0], [11.0], [12.0]]],
            &device,
        );
        let got = select_candidates(t, &[vec![2, 0], vec![1, 2]]);
        got.into_data().assert_eq(
            &TensorData::from([[[2.0f32], [0.0]], [[11.0], [12.0]]]),
            false,
        );
    }
}
