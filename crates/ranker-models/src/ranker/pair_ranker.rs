//! PairRanker (LLM-Blender's `CrossCompareReranker`, the model behind `llm-blender/pair-ranker` and
//! `llm-blender/PairRM`): one cross-encoder pass over `source ‖ candidate 1 ‖ candidate 2`, pooling at the three
//! marker tokens and a shared head scoring each candidate against the source.
// https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/ranker.py#L272

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::tanh;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

use crate::backbone::{Backbone, BackboneInput};
use crate::collate::PairBatch;
use crate::dropout::Dropout;
use crate::loss::PairLoss;

/// Configuration of a [`PairRanker`] head (the reference's `n_tasks` and `drop_out`).
#[derive(Config, Debug)]
pub struct PairRankerConfig {
    /// Number of metrics scored (one head output each).
    #[config(default = 1)]
    pub n_tasks: usize,
    /// Dropout before each head layer (`drop_out`).
    #[config(default = 0.05)]
    pub drop_out: f64,
}

impl PairRankerConfig {
    /// A PairRanker on `backbone` with a freshly initialised head (torch-default `Linear` init, as the reference's
    /// plain `nn.Sequential`), drawn from the device's RNG.
    pub fn init<B: Backend>(&self, backbone: Backbone<B>, device: &B::Device) -> PairRanker<B> {
        let hidden = backbone.hidden_size();
        PairRanker {
            pretrained_model: backbone,
            head_layer: PairHead {
                dense: LinearConfig::new(2 * hidden, hidden).init(device),
                out_proj: LinearConfig::new(hidden, self.n_tasks).init(device),
                dropout: Dropout::new(self.drop_out),
            },
        }
    }
}

/// The head `Dropout → Linear(2H→H) → Tanh → Dropout → Linear(H→T)`; in checkpoints `dense` is
/// `head_layer.1.*` and `out_proj` is `head_layer.4.*` (torch `nn.Sequential` indices).
#[derive(Module, Debug)]
pub struct PairHead<B: Backend> {
    /// `head_layer.1`: `Linear(2H → H)`.
    pub dense: Linear<B>,
    /// `head_layer.4`: `Linear(H → n_tasks)`.
    pub out_proj: Linear<B>,
    /// `head_layer.0` and `head_layer.3` (same probability; active only under autodiff).
    pub dropout: Dropout,
}

impl<B: Backend> PairHead<B> {
    /// # Shapes
    /// - `x`: `[rows, 2·hidden]` (source vector ‖ candidate vector)
    /// - output: `[rows, n_tasks]`
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let x = tanh(self.dense.forward(self.dropout.forward(x)));
        self.out_proj.forward(self.dropout.forward(x))
    }

    /// Number of outputs (tasks).
    pub fn n_tasks(&self) -> usize {
        self.out_proj.weight.dims()[1]
    }
}

/// PairRanker: a backbone (`pretrained_model.*` in checkpoints) and the shared head (`head_layer.*`).
#[derive(Module, Debug)]
pub struct PairRanker<B: Backend> {
    /// The encoder.
    pub pretrained_model: Backbone<B>,
    /// The head applied to `[h_source ; h_candidate]`.
    pub head_layer: PairHead<B>,
}

/// A pair batch on a device: ids, mask and the flat positions (`row · seq + column`) of the three markers.
#[derive(Debug, Clone)]
pub struct PairInput<B: Backend> {
    /// `[pairs, seq]`.
    pub input_ids: Tensor<B, 2, Int>,
    /// `[pairs, seq]`, 1 for tokens.
    pub attention_mask: Tensor<B, 2, Int>,
    /// `[pairs]`: flat index of each row's `<|source|>`.
    pub source_index: Tensor<B, 1, Int>,
    /// `[pairs]`: flat index of each row's `<|candidate1|>`.
    pub candidate1_index: Tensor<B, 1, Int>,
    /// `[pairs]`: flat index of each row's `<|candidate2|>`.
    pub candidate2_index: Tensor<B, 1, Int>,
}

impl<B: Backend> PairInput<B> {
    /// Moves a collated [`PairBatch`] to `device`.
    pub fn from_batch(batch: &PairBatch, device: &B::Device) -> Self {
        let (input_ids, attention_mask) = batch.tokens.to_tensors(device);
        let seq = batch.tokens.cols;
        let flat = |positions: &[usize]| {
            let values: Vec<i64> = positions
                .iter()
                .enumerate()
                .map(|(row, &pos)| (row * seq + pos) as i64)
                .collect();
            let n = values.len();
            Tensor::<B, 1, Int>::from_data(TensorData::new(values, [n]), device)
        };
        Self {
            input_ids,
            attention_mask,
            source_index: flat(&batch.source_pos),
            candidate1_index: flat(&batch.candidate1_pos),
            candidate2_index: flat(&batch.candidate2_pos),
        }
    }
}

/// What [`PairRanker::forward`] returns.
#[derive(Debug, Clone)]
pub struct PairScores<B: Backend> {
    /// `[pairs, n_tasks]`: head on `[h_source ; h_candidate1]`.
    pub left: Tensor<B, 2>,
    /// `[pairs, n_tasks]`: head on `[h_source ; h_candidate2]`.
    pub right: Tensor<B, 2>,
    /// `[pairs]`: `mean_tasks(left − right)`; positive means candidate 1 is better. This is `f(i, j)`.
    pub logits: Tensor<B, 1>,
}

impl<B: Backend> PairRanker<B> {
    /// Scores a batch of pairs.
    ///
    /// ```text
    /// h      = backbone(input_ids, attention_mask)                     last hidden state
    /// left   = head([h at <|source|> ; h at <|candidate1|>])
    /// right  = head([h at <|source|> ; h at <|candidate2|>])
    /// logits = mean_tasks(left − right)
    /// ```
    /// No token type ids are passed (as the reference). Dropout in the head (and backbone) is active only when the
    /// backend is autodiff; use [`AutodiffModule::valid`](burn::module::AutodiffModule::valid) for inference.
    ///
    /// # Shapes
    /// - `input_ids`, `attention_mask`: `[pairs, seq]`
    /// - output: `left`, `right` `[pairs, n_tasks]`; `logits` `[pairs]`
    pub fn forward(&self, input: PairInput<B>) -> PairScores<B> {
        let hidden = self
            .pretrained_model
            .forward(BackboneInput::new(input.input_ids, input.attention_mask));
        let [pairs, seq, width] = hidden.dims();
        let flat = hidden.reshape([pairs * seq, width]);
        let source = flat.clone().select(0, input.source_index);
        let candidate1 = flat.clone().select(0, input.candidate1_index);
        let candidate2 = flat.select(0, input.candidate2_index);
        // Two head calls, as the reference: with the instructgpt loss the gradient of the output bias
        // is then sum(g) + sum(−g) = 0 exactly (one call over both sides sums the rows in another
        // order and leaves float noise, which an adaptive optimiser amplifies into real updates).
        let left = self
            .head_layer
            .forward(Tensor::cat(vec![source.clone(), candidate1], 1));
        let right = self
            .head_layer
            .forward(Tensor::cat(vec![source, candidate2], 1));
        let logits = (left.clone() - right.clone()).mean_dim(1).reshape([pairs]);
        PairScores {
            left,
            right,
            logits,
        }
    }

    /// [`PairRanker::forward`] plus the training loss of `loss` against the two candidates' metric scores.
    ///
    /// # Shapes
    /// - `left_scores`, `right_scores`: `[pairs, n_tasks]`
    /// - loss: `[1]`
    pub fn forward_loss(
        &self,
        input: PairInput<B>,
        left_scores: Tensor<B, 2>,
        right_scores: Tensor<B, 2>,
        loss: PairLoss,
    ) -> (PairScores<B>, Tensor<B, 1>) {
        let scores = self.forward(input);
        let value = loss.forward(
            scores.left.clone(),
            scores.right.clone(),
            left_scores,
            right_scores,
        );
        (scores, value)
    }

    /// `f(i, j)` for every pair of a collated batch (what full and bubble inference call).
    ///
    /// # Shapes
    /// - output: `[pairs]`
    pub fn score_pairs(&self, batch: &PairBatch, device: &B::Device) -> Tensor<B, 1> {
        self.forward(PairInput::from_batch(batch, device)).logits
    }

    /// Number of tasks the head scores.
    pub fn n_tasks(&self) -> usize {
        self.head_layer.n_tasks()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collate::PairRow;
    use burn::backend::Flex;

    #[test]
    fn flat_marker_indices_address_each_row() {
        let rows = vec![
            PairRow {
                ids: vec![1, 9, 2, 1, 10, 2, 1, 11, 2],
                source_pos: 1,
                candidate1_pos: 4,
                candidate2_pos: 7,
            },
            PairRow {
                ids: vec![1, 9, 5, 2, 1, 10, 2, 1, 11, 6, 6, 2],
                source_pos: 1,
                candidate1_pos: 5,
                candidate2_pos: 8,
            },
        ];
        let batch = PairBatch::from_rows(rows, 0);
        assert_eq!(batch.tokens.cols, 12);
        let input = PairInput::<Flex>::from_batch(&batch, &Default::default());
        let got =
            |t: Tensor<Flex, 1, Int>| t.into_data().convert::<i64>().into_vec::<i64>().unwrap();
        assert_eq!(got(input.source_index), vec![1, 13]);
        assert_eq!(got(input.candidate1_index), vec![4, 17]);
        assert_eq!(got(input.candidate2_index), vec![7, 20]);
    }

    #[test]
    fn head_is_dense_tanh_out_proj() {
        use burn::module::Param;
        let device = Default::default();
        let mut head = PairHead::<Flex> {
            dense: LinearConfig::new(4, 2).init(&device),
            out_proj: LinearConfig::new(2, 1).init(&device),
            dropout: Dropout::new(0.5),
        };
        // burn stores Linear weights as [in, out].
        head.dense.weight = Param::from_tensor(Tensor::from_floats(
            [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, -1.0]],
            &device,
        ));
        head.dense.bias = Some(Param::from_tensor(Tensor::from_floats([0.0, 0.5], &device)));
        head.out_proj.weight = Param::from_tensor(Tensor::from_floats([[2.0], [-1.0]], &device));
        head.out_proj.bias = Some(Param::from_tensor(Tensor::from_floats([0.25], &device)));
        let x = Tensor::<Flex, 2>::from_floats([[0.1, 0.2, 0.3, 0.4]], &device);
        // dense: [0.1 + 0.3, 0.2 − 0.4 + 0.5] = [0.4, 0.3]; out = 2·tanh(0.4) − tanh(0.3) + 0.25
        let expected = 2.0 * 0.4f32.tanh() - 0.3f32.tanh() + 0.25;
        let got = head.forward(x).into_data().to_vec::<f32>().unwrap();
        assert!((got[0] - expected).abs() < 1e-6, "{got:?} vs {expected}");
        assert_eq!(head.n_tasks(), 1);
    }
}
