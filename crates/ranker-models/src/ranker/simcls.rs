//! SimCLS (Liu & Liu 2021, arXiv 2106.01890) as LLM-Blender's `DualReranker`: one shared encoder for source,
//! reference and candidates, the first token L2-normalised, candidates ranked by cosine similarity to the source.
// https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/ranker.py#L126

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

use crate::backbone::{Backbone, BackboneInput};
use crate::collate::{DualBatch, TokenMatrix};
use crate::loss::simcls_loss;

/// SimCLS: just the shared encoder (no extra parameters); checkpoint keys `pretrained_model.*`.
#[derive(Module, Debug)]
pub struct SimCls<B: Backend> {
    /// The encoder (the reference's `source_encoder` and `candidate_encoder` are this one module).
    pub pretrained_model: Backbone<B>,
}

/// A SimCLS batch on a device.
#[derive(Debug, Clone)]
pub struct DualInput<B: Backend> {
    /// Sources `[items, seq]`: ids and mask.
    pub source: (Tensor<B, 2, Int>, Tensor<B, 2, Int>),
    /// References `[items, seq]`, when given.
    pub target: Option<(Tensor<B, 2, Int>, Tensor<B, 2, Int>)>,
    /// Candidates `[items · n_candidates, seq]`, item-major.
    pub candidates: (Tensor<B, 2, Int>, Tensor<B, 2, Int>),
    /// Candidates per item.
    pub n_candidates: usize,
}

impl<B: Backend> DualInput<B> {
    /// Moves a collated [`DualBatch`] to `device`, dropping all-padding columns of each matrix (the reference keeps
    /// them; masked positions do not change the first token's output).
    pub fn from_batch(batch: &DualBatch, device: &B::Device) -> Self {
        let move_trimmed = |m: &TokenMatrix| {
            let mut m = m.clone();
            m.trim_pad_columns();
            m.to_tensors(device)
        };
        Self {
            source: move_trimmed(&batch.source),
            target: batch.target.as_ref().map(move_trimmed),
            candidates: move_trimmed(&batch.candidates),
            n_candidates: batch.n_candidates,
        }
    }
}

/// What [`SimCls::forward`] returns.
#[derive(Debug, Clone)]
pub struct SimClsOutput<B: Backend> {
    /// `[items, n_candidates]`: cosine similarity of source and candidate; the ranking score.
    pub sim: Tensor<B, 2>,
    /// `[items]`: cosine similarity of source and reference, when references were given.
    pub target_sim: Option<Tensor<B, 1>>,
}

impl<B: Backend> SimClsOutput<B> {
    /// The SimCLS training loss ([`simcls_loss`]).
    ///
    /// # Shapes
    /// - `total_scores`: `[items, n_candidates]`, metric scores summed over tasks
    ///
    /// # Panics
    /// If the batch had no references.
    pub fn loss(&self, total_scores: Tensor<B, 2>) -> Tensor<B, 1> {
        let target_sim = self
            .target_sim
            .clone()
            .expect("the SimCLS loss needs references (DualCollator::collate with targets)");
        simcls_loss(self.sim.clone(), target_sim, total_scores)
    }
}

impl<B: Backend> SimCls<B> {
    /// A SimCLS ranker on `backbone`.
    pub fn new(backbone: Backbone<B>) -> Self {
        Self {
            pretrained_model: backbone,
        }
    }

    /// First-token vector of every row, L2-normalised like `F.normalize(x, dim=-1)` (norm clamped at 1e-12).
    fn encode(&self, (ids, mask): (Tensor<B, 2, Int>, Tensor<B, 2, Int>)) -> Tensor<B, 2> {
        let hidden = self.pretrained_model.forward(BackboneInput::new(ids, mask));
        let [rows, _, width] = hidden.dims();
        let first = hidden.narrow(1, 0, 1).reshape([rows, width]);
        let norm = first.clone().square().sum_dim(1).sqrt().clamp_min(1e-12);
        first / norm
    }

    /// ```text
    /// s = normalize(enc(source)[:, 0]),  c_i = normalize(enc(candidate_i)[:, 0]),  r = normalize(enc(reference)[:, 0])
    /// sim[b, i] = ⟨s_b, c_{b,i}⟩,   target_sim[b] = ⟨s_b, r_b⟩
    /// ```
    pub fn forward(&self, input: DualInput<B>) -> SimClsOutput<B> {
        let n = input.n_candidates;
        let source = self.encode(input.source);
        let [items, width] = source.dims();
        let candidates = self.encode(input.candidates).reshape([items, n, width]);
        let sim = candidates
            .matmul(source.clone().reshape([items, width, 1]))
            .reshape([items, n]);
        let target_sim = input
            .target
            .map(|target| (self.encode(target) * source).sum_dim(1).reshape([items]));
        SimClsOutput { sim, target_sim }
    }
}
