//! RoBERTa (Liu et al., 2019, "RoBERTa: A Robustly Optimized BERT Pretraining Approach"), mirrored from
//! transformers' `modeling_roberta.py` (v5.24.0).
//!
//! The encoder is BERT's ([`BertEncoder`]); only the embeddings differ: position ids count the
//! non-padding tokens starting at `pad_token_id + 1` (fairseq's `make_positions`), so padding keeps
//! position `pad_token_id`. Checked against transformers on a tiny random RoBERTa
//! (`tests/fixtures/models/roberta-tiny`). The pooler is not implemented.

use burn::module::Module;
use burn::nn::{Embedding, LayerNorm};
use burn::tensor::{backend::Backend, Int, Tensor};

use super::base::{BackboneInput, BackboneOutput};
use super::bert::{BertConfig, BertEncoder};
use super::init;
use super::padding::embed_with_padding_idx;
use super::precision;
use crate::dropout::Dropout;

/// Position ids of RoBERTa: `cumsum(ids != pad) * (ids != pad) + pad`.
///
/// # Shapes
/// - input_ids: `[batch, seq]`
/// - output: `[batch, seq]`
// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/roberta/modeling_roberta.py#L141
pub fn create_position_ids_from_input_ids<B: Backend>(
    input_ids: Tensor<B, 2, Int>,
    padding_idx: u32,
) -> Tensor<B, 2, Int> {
    let mask = input_ids.not_equal_elem(padding_idx as i64).int();
    (mask.clone().cumsum(1) * mask).add_scalar(padding_idx as i64)
}

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/roberta/modeling_roberta.py#L57
/// Word + token type + position embeddings with padding-aware position ids, LayerNorm and dropout.
#[derive(Module, Debug)]
pub struct RobertaEmbeddings<B: Backend> {
    /// `[vocab_size, hidden]`.
    pub word_embeddings: Embedding<B>,
    /// `[max_position_embeddings, hidden]`; row `pad_token_id` is the padding position.
    pub position_embeddings: Embedding<B>,
    /// `[type_vocab_size, hidden]`.
    pub token_type_embeddings: Embedding<B>,
    /// HF `LayerNorm`.
    pub layer_norm: LayerNorm<B>,
    /// `hidden_dropout_prob`.
    pub dropout: Dropout,
    /// `pad_token_id`: the padding position id, and the word- and position-embedding rows that get no
    /// gradient (torch's `padding_idx`).
    pub padding_idx: u32,
}

impl<B: Backend> RobertaEmbeddings<B> {
    fn init(config: &BertConfig, padding_idx: u32, device: &B::Device) -> Self {
        let std = config.initializer_range;
        let pad = Some(padding_idx as usize);
        Self {
            word_embeddings: init::embedding(
                config.vocab_size,
                config.hidden_size,
                std,
                pad,
                device,
            ),
            position_embeddings: init::embedding(
                config.max_position_embeddings,
                config.hidden_size,
                std,
                pad,
                device,
            ),
            token_type_embeddings: init::embedding(
                config.type_vocab_size,
                config.hidden_size,
                std,
                None,
                device,
            ),
            layer_norm: init::layer_norm(config.hidden_size, config.layer_norm_eps, device),
            dropout: init::dropout(config.hidden_dropout_prob),
            padding_idx,
        }
    }

    /// # Shapes
    /// - input_ids: `[batch, seq]`
    /// - token_type_ids: `[batch, seq]` (all 0 when `None`)
    /// - output: `[batch, seq, hidden]`
    ///
    /// # Panics
    /// If `pad_token_id + seq` reaches `max_position_embeddings`.
    pub fn forward(
        &self,
        input_ids: Tensor<B, 2, Int>,
        token_type_ids: Option<Tensor<B, 2, Int>>,
    ) -> Tensor<B, 3> {
        let [_, seq] = input_ids.dims();
        let [max_positions, hidden] = self.position_embeddings.weight.dims();
        assert!(
            self.padding_idx as usize + seq < max_positions,
            "sequence length {seq} plus the padding offset {} exceeds max_position_embeddings {max_positions}",
            self.padding_idx + 1
        );
        let position_ids = create_position_ids_from_input_ids(input_ids.clone(), self.padding_idx);
        let words = embed_with_padding_idx(&self.word_embeddings, input_ids, self.padding_idx);
        let token_types = match token_type_ids {
            Some(ids) => self.token_type_embeddings.forward(ids),
            None => self
                .token_type_embeddings
                .weight
                .val()
                .slice([0..1, 0..hidden])
                .reshape([1, 1, hidden]),
        };
        let positions =
            embed_with_padding_idx(&self.position_embeddings, position_ids, self.padding_idx);
        let embeddings = words + token_types + positions;
        self.dropout
            .forward(precision::layer_norm(&self.layer_norm, embeddings))
    }
}

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/roberta/modeling_roberta.py#L468
/// RoBERTa without the pooler: `last_hidden_state` of `RobertaModel(config, add_pooling_layer=False)`.
#[derive(Module, Debug)]
pub struct RobertaModel<B: Backend> {
    /// HF `embeddings`.
    pub embeddings: RobertaEmbeddings<B>,
    /// HF `encoder` (same modules as BERT's).
    pub encoder: BertEncoder<B>,
    /// `initializer_range`: σ of new embedding rows in `resize_token_embeddings`.
    pub initializer_range: f64,
}

impl<B: Backend> RobertaModel<B> {
    /// Randomly initialised model (transformers' `_init_weights`).
    ///
    /// # Panics
    /// If `config` fails validation or has no `pad_token_id` (configs from
    /// [`crate::BackboneConfig`] always pass).
    pub fn init(config: &BertConfig, device: &B::Device) -> Self {
        if let Err(issue) = config.validate() {
            panic!("invalid RoBERTa config: {issue}");
        }
        let padding_idx = config
            .pad_token_id
            .expect("RoBERTa needs pad_token_id for its position ids");
        Self {
            embeddings: RobertaEmbeddings::init(config, padding_idx, device),
            encoder: BertEncoder::init(config, device),
            initializer_range: config.initializer_range,
        }
    }

    /// # Shapes
    /// - input: `input_ids`, `attention_mask`, `token_type_ids`: `[batch, seq]`
    /// - output `last_hidden_state`: `[batch, seq, hidden]`
    pub fn forward(&self, input: BackboneInput<B>) -> BackboneOutput<B> {
        let embedded = self
            .embeddings
            .forward(input.input_ids, input.token_type_ids);
        BackboneOutput {
            last_hidden_state: self.encoder.forward(embedded, input.attention_mask),
        }
    }

    /// Width of the hidden states.
    pub fn hidden_size(&self) -> usize {
        self.embeddings.word_embeddings.weight.dims()[1]
    }

    /// Rows of the word-embedding matrix.
    pub fn vocab_size(&self) -> usize {
        self.embeddings.word_embeddings.weight.dims()[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn position_ids_skip_padding() {
        let device = Default::default();
        let ids =
            Tensor::<Flex, 2, Int>::from_ints([[0, 5, 6, 2, 1, 1], [0, 7, 2, 1, 1, 1]], &device);
        let pos = create_position_ids_from_input_ids(ids, 1)
            .into_data()
            .convert::<i64>()
            .to_vec::<i64>()
            .unwrap();
        assert_eq!(pos, vec![2, 3, 4, 5, 1, 1, 2, 3, 4, 1, 1, 1]);
    }
}
