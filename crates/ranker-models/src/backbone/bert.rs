//! BERT (Devlin et al., 2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language
//! Understanding"), mirrored module by module from transformers' `modeling_bert.py` (v5.24.0).
//!
//! Checked against transformers on a tiny random BERT (`tests/fixtures/models/bert-tiny`) and on
//! `sentence-transformers/all-MiniLM-L6-v2` (`nreimers/MiniLM-L6-H384-uncased`, a 6-layer BERT).
//! RoBERTa ([`crate::backbone::roberta`]) reuses the encoder defined here.
//!
//! Not implemented: the pooler (`pooler.*`, unused by the rankers), decoder use (`is_decoder`,
//! cross-attention, KV cache) and relative position embeddings (`position_embedding_type` other than
//! `absolute`); configs asking for them are rejected when loaded.

use burn::module::Module;
use burn::nn::{Embedding, LayerNorm, Linear};
use burn::tensor::{backend::Backend, Int, Tensor};
use serde::{Deserialize, Serialize};

use super::activation::HiddenAct;
use super::base::{BackboneInput, BackboneOutput, ConfigIssue};
use super::init;
use super::padding::embed_with_padding_idx;
use super::precision;
use crate::dropout::Dropout;

/// `config.json` of a BERT or RoBERTa model: transformers' field names and BERT's defaults.
///
/// RoBERTa configs differ only in defaults (`pad_token_id` 1, `vocab_size` 50265), which
/// [`BackboneConfig::from_json`](crate::BackboneConfig::from_json) fills in before parsing.
/// Keys that do not change the encoder's math are kept verbatim in `extra` so that the config can be
/// written back.
// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/bert/configuration_bert.py#L25
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BertConfig {
    /// Rows of `embeddings.word_embeddings`.
    pub vocab_size: usize,
    /// Width of every hidden state.
    pub hidden_size: usize,
    /// Number of encoder layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer; `hidden_size` must be a multiple of it.
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Feed-forward activation.
    pub hidden_act: HiddenAct,
    /// Dropout after the embeddings and after each sub-layer's output projection.
    pub hidden_dropout_prob: f64,
    /// Dropout on the attention probabilities.
    pub attention_probs_dropout_prob: f64,
    /// Rows of `embeddings.position_embeddings` (the longest input, counting RoBERTa's offset).
    pub max_position_embeddings: usize,
    /// Rows of `embeddings.token_type_embeddings`.
    pub type_vocab_size: usize,
    /// σ of the N(0, σ) initialisation.
    pub initializer_range: f64,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f64,
    /// Padding token id (the zeroed embedding row; RoBERTa's position offset).
    pub pad_token_id: Option<u32>,
    /// Only `"absolute"` is supported (transformers ≤ 4.x also had `relative_key`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position_embedding_type: Option<String>,
    /// Must be false: decoder use is not supported.
    pub is_decoder: bool,
    /// Must be false: cross-attention is not supported.
    pub add_cross_attention: bool,
    /// Every other key of `config.json`, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Default for BertConfig {
    fn default() -> Self {
        Self {
            vocab_size: 30522,
            hidden_size: 768,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            intermediate_size: 3072,
            hidden_act: HiddenAct::Gelu,
            hidden_dropout_prob: 0.1,
            attention_probs_dropout_prob: 0.1,
            max_position_embeddings: 512,
            type_vocab_size: 2,
            initializer_range: 0.02,
            layer_norm_eps: 1e-12,
            pad_token_id: Some(0),
            position_embedding_type: None,
            is_decoder: false,
            add_cross_attention: false,
            extra: serde_json::Map::new(),
        }
    }
}

impl BertConfig {
    /// Checks that the config describes a model this module implements.
    pub(crate) fn validate(&self) -> Result<(), ConfigIssue> {
        ConfigIssue::check_heads(self.hidden_size, self.num_attention_heads)?;
        if let Some(kind) = self.position_embedding_type.as_deref() {
            if kind != "absolute" {
                return Err(ConfigIssue::new(
                    "position_embedding_type",
                    format!("`{kind}` is not supported, only `absolute`"),
                ));
            }
        }
        if self.is_decoder {
            return Err(ConfigIssue::new(
                "is_decoder",
                "decoder use is not supported",
            ));
        }
        if self.add_cross_attention {
            return Err(ConfigIssue::new(
                "add_cross_attention",
                "cross-attention is not supported",
            ));
        }
        if self.type_vocab_size == 0 {
            return Err(ConfigIssue::new(
                "type_vocab_size",
                "must be at least 1 (BERT always adds a token type embedding)",
            ));
        }
        ConfigIssue::check_prob("hidden_dropout_prob", self.hidden_dropout_prob)?;
        ConfigIssue::check_prob(
            "attention_probs_dropout_prob",
            self.attention_probs_dropout_prob,
        )?;
        ConfigIssue::check_pad_token(self.pad_token_id, self.vocab_size)?;
        Ok(())
    }
}

/// Additive attention bias hiding padded keys: 0 where `attention_mask` is 1, `f32::MIN` where it is 0.
///
/// transformers' eager attention adds `torch.finfo(dtype).min` at masked key positions; padded
/// query rows still attend to the valid keys.
///
/// # Shapes
/// - attention_mask: `[batch, seq]`
/// - output: `[batch, 1, 1, seq]`
pub(crate) fn key_padding_bias<B: Backend>(attention_mask: Tensor<B, 2, Int>) -> Tensor<B, 4> {
    let [batch, seq] = attention_mask.dims();
    ((attention_mask.float() - 1.0) * f32::MAX).reshape([batch, 1, 1, seq])
}

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/bert/modeling_bert.py#L54
/// Word + token type + absolute position embeddings, then LayerNorm and dropout.
#[derive(Module, Debug)]
pub struct BertEmbeddings<B: Backend> {
    /// `[vocab_size, hidden]`.
    pub word_embeddings: Embedding<B>,
    /// `[max_position_embeddings, hidden]`.
    pub position_embeddings: Embedding<B>,
    /// `[type_vocab_size, hidden]`.
    pub token_type_embeddings: Embedding<B>,
    /// HF `LayerNorm`.
    pub layer_norm: LayerNorm<B>,
    /// `hidden_dropout_prob`.
    pub dropout: Dropout,
    /// `pad_token_id`: the word-embedding row that gets no gradient (torch's `padding_idx`).
    pub padding_idx: Option<u32>,
}

impl<B: Backend> BertEmbeddings<B> {
    fn init(config: &BertConfig, device: &B::Device) -> Self {
        let std = config.initializer_range;
        let pad = config.pad_token_id.map(|p| p as usize);
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
                None,
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
            padding_idx: config.pad_token_id,
        }
    }

    /// Embeds tokens at positions `0..seq`.
    ///
    /// # Shapes
    /// - input_ids: `[batch, seq]`
    /// - token_type_ids: `[batch, seq]` (all 0 when `None`)
    /// - output: `[batch, seq, hidden]`
    ///
    /// # Panics
    /// If `seq` exceeds `max_position_embeddings`.
    pub fn forward(
        &self,
        input_ids: Tensor<B, 2, Int>,
        token_type_ids: Option<Tensor<B, 2, Int>>,
    ) -> Tensor<B, 3> {
        let [_, seq] = input_ids.dims();
        let [max_positions, hidden] = self.position_embeddings.weight.dims();
        assert!(
            seq <= max_positions,
            "sequence length {seq} exceeds max_position_embeddings {max_positions}"
        );
        let words = match self.padding_idx {
            Some(pad) => embed_with_padding_idx(&self.word_embeddings, input_ids, pad),
            None => self.word_embeddings.forward(input_ids),
        };
        let token_types = match token_type_ids {
            Some(ids) => self.token_type_embeddings.forward(ids),
            None => self
                .token_type_embeddings
                .weight
                .val()
                .slice([0..1, 0..hidden])
                .reshape([1, 1, hidden]),
        };
        let positions = self
            .position_embeddings
            .weight
            .val()
            .slice([0..seq, 0..hidden])
            .reshape([1, seq, hidden]);
        let embeddings = words + token_types + positions;
        self.dropout
            .forward(precision::layer_norm(&self.layer_norm, embeddings))
    }
}

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/bert/modeling_bert.py#L140
/// Multi-head scaled dot-product self-attention (HF's eager path).
#[derive(Module, Debug)]
pub struct BertSelfAttention<B: Backend> {
    /// Query projection.
    pub query: Linear<B>,
    /// Key projection.
    pub key: Linear<B>,
    /// Value projection.
    pub value: Linear<B>,
    /// `attention_probs_dropout_prob`, on the attention probabilities.
    pub dropout: Dropout,
    /// Number of heads.
    pub num_attention_heads: usize,
}

impl<B: Backend> BertSelfAttention<B> {
    fn init(config: &BertConfig, device: &B::Device) -> Self {
        let (h, std) = (config.hidden_size, config.initializer_range);
        Self {
            query: init::linear(h, h, true, std, device),
            key: init::linear(h, h, true, std, device),
            value: init::linear(h, h, true, std, device),
            dropout: init::dropout(config.attention_probs_dropout_prob),
            num_attention_heads: config.num_attention_heads,
        }
    }

    /// # Shapes
    /// - hidden_states: `[batch, seq, hidden]`
    /// - attention_bias: `[batch, heads or 1, seq or 1, seq]`: 0 for keys to attend to, `f32::MIN`
    ///   for padding
    /// - output: `[batch, seq, hidden]`
    pub fn forward(
        &self,
        hidden_states: Tensor<B, 3>,
        attention_bias: Tensor<B, 4>,
    ) -> Tensor<B, 3> {
        let [batch, seq, hidden] = hidden_states.dims();
        let heads = self.num_attention_heads;
        let head_dim = hidden / heads;
        let split_heads =
            |x: Tensor<B, 3>| x.reshape([batch, seq, heads, head_dim]).swap_dims(1, 2);
        // Scaling the queries instead of the [seq, seq] scores is the same up to rounding and cheaper.
        let query = split_heads(
            self.query.forward(hidden_states.clone()) * (1.0 / (head_dim as f64).sqrt()),
        );
        let key = split_heads(self.key.forward(hidden_states.clone()));
        let value = split_heads(self.value.forward(hidden_states));
        let scores = query.matmul(key.swap_dims(2, 3));
        let probs = self
            .dropout
            .forward(precision::softmax_with_bias(scores, attention_bias));
        probs
            .matmul(value)
            .swap_dims(1, 2)
            .reshape([batch, seq, hidden])
    }
}

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/bert/modeling_bert.py#L283
/// Output projection of the attention block with residual connection and LayerNorm.
#[derive(Module, Debug)]
pub struct BertSelfOutput<B: Backend> {
    /// `[hidden, hidden]`.
    pub dense: Linear<B>,
    /// HF `LayerNorm`.
    pub layer_norm: LayerNorm<B>,
    /// `hidden_dropout_prob`.
    pub dropout: Dropout,
}

impl<B: Backend> BertSelfOutput<B> {
    fn init(config: &BertConfig, device: &B::Device) -> Self {
        let h = config.hidden_size;
        Self {
            dense: init::linear(h, h, true, config.initializer_range, device),
            layer_norm: init::layer_norm(h, config.layer_norm_eps, device),
            dropout: init::dropout(config.hidden_dropout_prob),
        }
    }

    /// `LayerNorm(dropout(dense(x)) + residual)`.
    ///
    /// # Shapes
    /// - hidden_states, input_tensor, output: `[batch, seq, hidden]`
    pub fn forward(&self, hidden_states: Tensor<B, 3>, input_tensor: Tensor<B, 3>) -> Tensor<B, 3> {
        let x = self.dropout.forward(self.dense.forward(hidden_states));
        precision::layer_norm(&self.layer_norm, x + input_tensor)
    }
}

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/bert/modeling_bert.py#L297
/// Self-attention followed by its output block.
#[derive(Module, Debug)]
pub struct BertAttention<B: Backend> {
    /// HF `attention.self` (`self` is a Rust keyword).
    pub self_attn: BertSelfAttention<B>,
    /// HF `attention.output`.
    pub output: BertSelfOutput<B>,
}

impl<B: Backend> BertAttention<B> {
    /// # Shapes
    /// - hidden_states, output: `[batch, seq, hidden]`
    /// - attention_bias: `[batch, heads or 1, seq or 1, seq]`
    pub fn forward(
        &self,
        hidden_states: Tensor<B, 3>,
        attention_bias: Tensor<B, 4>,
    ) -> Tensor<B, 3> {
        let attended = self
            .self_attn
            .forward(hidden_states.clone(), attention_bias);
        self.output.forward(attended, hidden_states)
    }
}

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/bert/modeling_bert.py#L327
/// First feed-forward projection and the activation.
#[derive(Module, Debug)]
pub struct BertIntermediate<B: Backend> {
    /// `[hidden, intermediate]`.
    pub dense: Linear<B>,
    /// `hidden_act`.
    pub intermediate_act_fn: HiddenAct,
}

impl<B: Backend> BertIntermediate<B> {
    /// # Shapes
    /// - hidden_states: `[batch, seq, hidden]`
    /// - output: `[batch, seq, intermediate]`
    pub fn forward(&self, hidden_states: Tensor<B, 3>) -> Tensor<B, 3> {
        self.intermediate_act_fn
            .forward(self.dense.forward(hidden_states))
    }
}

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/bert/modeling_bert.py#L342
/// Second feed-forward projection with residual connection and LayerNorm.
#[derive(Module, Debug)]
pub struct BertOutput<B: Backend> {
    /// `[intermediate, hidden]`.
    pub dense: Linear<B>,
    /// HF `LayerNorm`.
    pub layer_norm: LayerNorm<B>,
    /// `hidden_dropout_prob`.
    pub dropout: Dropout,
}

impl<B: Backend> BertOutput<B> {
    /// # Shapes
    /// - hidden_states: `[batch, seq, intermediate]`
    /// - input_tensor, output: `[batch, seq, hidden]`
    pub fn forward(&self, hidden_states: Tensor<B, 3>, input_tensor: Tensor<B, 3>) -> Tensor<B, 3> {
        let x = self.dropout.forward(self.dense.forward(hidden_states));
        precision::layer_norm(&self.layer_norm, x + input_tensor)
    }
}

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/bert/modeling_bert.py#L356
/// One transformer layer: attention block, then feed-forward block.
#[derive(Module, Debug)]
pub struct BertLayer<B: Backend> {
    /// Attention block.
    pub attention: BertAttention<B>,
    /// Feed-forward expansion.
    pub intermediate: BertIntermediate<B>,
    /// Feed-forward projection back.
    pub output: BertOutput<B>,
}

impl<B: Backend> BertLayer<B> {
    fn init(config: &BertConfig, device: &B::Device) -> Self {
        let (h, i, std) = (
            config.hidden_size,
            config.intermediate_size,
            config.initializer_range,
        );
        Self {
            attention: BertAttention {
                self_attn: BertSelfAttention::init(config, device),
                output: BertSelfOutput::init(config, device),
            },
            intermediate: BertIntermediate {
                dense: init::linear(h, i, true, std, device),
                intermediate_act_fn: config.hidden_act,
            },
            output: BertOutput {
                dense: init::linear(i, h, true, std, device),
                layer_norm: init::layer_norm(h, config.layer_norm_eps, device),
                dropout: init::dropout(config.hidden_dropout_prob),
            },
        }
    }

    /// # Shapes
    /// - hidden_states, output: `[batch, seq, hidden]`
    /// - attention_bias: `[batch, heads or 1, seq or 1, seq]`
    pub fn forward(
        &self,
        hidden_states: Tensor<B, 3>,
        attention_bias: Tensor<B, 4>,
    ) -> Tensor<B, 3> {
        let attention_output = self.attention.forward(hidden_states, attention_bias);
        let intermediate = self.intermediate.forward(attention_output.clone());
        self.output.forward(intermediate, attention_output)
    }
}

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/bert/modeling_bert.py#L422
/// The stack of layers.
#[derive(Module, Debug)]
pub struct BertEncoder<B: Backend> {
    /// HF `encoder.layer.{i}`.
    pub layer: Vec<BertLayer<B>>,
}

impl<B: Backend> BertEncoder<B> {
    pub(crate) fn init(config: &BertConfig, device: &B::Device) -> Self {
        Self {
            layer: (0..config.num_hidden_layers)
                .map(|_| BertLayer::init(config, device))
                .collect(),
        }
    }

    /// # Shapes
    /// - hidden_states, output: `[batch, seq, hidden]`
    /// - attention_mask: `[batch, seq]`, 1 for tokens, 0 for padding
    pub fn forward(
        &self,
        hidden_states: Tensor<B, 3>,
        attention_mask: Tensor<B, 2, Int>,
    ) -> Tensor<B, 3> {
        let [_, seq, _] = hidden_states.dims();
        let heads = self
            .layer
            .first()
            .map_or(1, |l| l.attention.self_attn.num_attention_heads);
        // Materialised (copied) for every head and query once per forward: burn-flex adds same-shape
        // contiguous tensors in place with SIMD but walks a broadcast operand element by element.
        let bias = key_padding_bias(attention_mask)
            .repeat_dim(2, seq)
            .repeat_dim(1, heads);
        self.layer
            .iter()
            .fold(hidden_states, |x, layer| layer.forward(x, bias.clone()))
    }
}

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/bert/modeling_bert.py#L597
/// BERT without the pooler: `last_hidden_state` of `BertModel(config, add_pooling_layer=False)`.
#[derive(Module, Debug)]
pub struct BertModel<B: Backend> {
    /// HF `embeddings`.
    pub embeddings: BertEmbeddings<B>,
    /// HF `encoder`.
    pub encoder: BertEncoder<B>,
    /// `initializer_range`: σ of new embedding rows in `resize_token_embeddings`.
    pub initializer_range: f64,
}

impl<B: Backend> BertModel<B> {
    /// Randomly initialised model (transformers' `_init_weights`); `config` must be valid.
    ///
    /// # Panics
    /// If `config` fails validation (configs from [`crate::BackboneConfig`] always pass).
    pub fn init(config: &BertConfig, device: &B::Device) -> Self {
        if let Err(issue) = config.validate() {
            panic!("invalid BERT config: {issue}");
        }
        Self {
            embeddings: BertEmbeddings::init(config, device),
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

    fn tiny() -> BertConfig {
        serde_json::from_value(serde_json::json!({
            "vocab_size": 20, "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2,
            "intermediate_size": 16, "max_position_embeddings": 10, "architectures": ["BertModel"]
        }))
        .unwrap()
    }

    #[test]
    fn keeps_unknown_keys_and_defaults() {
        let config = tiny();
        assert_eq!(config.layer_norm_eps, 1e-12);
        assert_eq!(config.pad_token_id, Some(0));
        assert!(config.extra.contains_key("architectures"));
        config.validate().unwrap();
    }

    #[test]
    fn rejects_relative_key() {
        let mut config = tiny();
        config.position_embedding_type = Some("relative_key".into());
        assert_eq!(
            config.validate().unwrap_err().key,
            "position_embedding_type"
        );
    }

    #[test]
    fn forward_shape_and_padding_independence() {
        let device = Default::default();
        let model = BertModel::<Flex>::init(&tiny(), &device);
        let ids = Tensor::<Flex, 2, Int>::from_ints([[2, 5, 7, 0, 0]], &device);
        let mask = Tensor::<Flex, 2, Int>::from_ints([[1, 1, 1, 0, 0]], &device);
        let out = model
            .forward(BackboneInput::new(ids, mask))
            .last_hidden_state;
        assert_eq!(out.dims(), [1, 5, 8]);
        let short = model
            .forward(BackboneInput::new(
                Tensor::from_ints([[2, 5, 7]], &device),
                Tensor::from_ints([[1, 1, 1]], &device),
            ))
            .last_hidden_state;
        let padded = out.slice([0..1, 0..3, 0..8]);
        let diff = (padded - short).abs().max().into_scalar();
        assert!(diff < 1e-5, "{diff}");
    }
}
