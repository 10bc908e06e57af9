//! The T5 encoder (Raffel et al., 2020, "Exploring the Limits of Transfer Learning with a Unified
//! Text-to-Text Transformer"), mirrored module by module from transformers' `modeling_t5.py`
//! (v5.24.0): `T5EncoderModel`, the encoder half of `t5-*`, `google/t5-v1_1-*` and `google/flan-t5-*`.
//!
//! What differs from the BERT family: no absolute positions and no token types; one relative position
//! bias (`relative_attention_num_buckets` bidirectional log buckets up to
//! `relative_attention_max_distance`) computed by the first layer and added to every layer's scores;
//! attention scores are not scaled by `1/√d_kv`; pre-norm residual blocks with an RMS layer norm
//! (`T5LayerNorm`: no mean subtraction, no bias) and a final norm; feed-forward `relu` (v1.0) or
//! gated (`gated-gelu` = gelu_new, v1.1 / flan-t5); no biases anywhere.
//!
//! Encoder only: the decoder and `lm_head` of a full `T5ForConditionalGeneration` checkpoint are
//! ignored when it is loaded (see [`crate::hf`]). Checked against transformers on tiny random models
//! (`tests/fixtures/models/t5-tiny`, `flan-t5-tiny`).

use burn::module::{Module, Param};
use burn::nn::{Embedding, Linear};
use burn::tensor::{backend::Backend, FloatDType, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::activation::HiddenAct;
use super::base::{BackboneInput, BackboneOutput, ConfigIssue};
use super::bert::key_padding_bias;
use super::init;
use super::length_cache::LengthCache;
use super::precision;
use crate::dropout::Dropout;

/// `config.json` of a T5 model: transformers' `T5Config` field names and defaults. Decoder settings
/// (`num_decoder_layers`, …) and derived keys (`dense_act_fn`, `is_gated_act`) are kept verbatim in
/// `extra`; the feed-forward is derived from `feed_forward_proj`, as transformers does.
// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/t5/configuration_t5.py#L43
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct T5Config {
    /// Rows of `shared`.
    pub vocab_size: usize,
    /// Width of the hidden states.
    pub d_model: usize,
    /// Width of each attention head (`num_heads · d_kv` need not equal `d_model`).
    pub d_kv: usize,
    /// Width of the feed-forward layer.
    pub d_ff: usize,
    /// Encoder blocks.
    pub num_layers: usize,
    /// Attention heads per block.
    pub num_heads: usize,
    /// Relative position buckets (half per direction).
    pub relative_attention_num_buckets: usize,
    /// Distances from here on share the last bucket.
    pub relative_attention_max_distance: usize,
    /// Dropout on the embeddings, attention probabilities, sub-layer outputs and the final state.
    pub dropout_rate: f64,
    /// RMS norm epsilon.
    pub layer_norm_epsilon: f64,
    /// Scale of transformers' T5 initialisation.
    pub initializer_factor: f64,
    /// `relu`, `gated-gelu` or generally `{gated-}{activation}`.
    pub feed_forward_proj: String,
    /// Padding token id (batch padding; T5's embedding has no padding row).
    pub pad_token_id: Option<u32>,
    /// Must be false: this is the encoder.
    pub is_decoder: bool,
    /// Every other key of `config.json`, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Default for T5Config {
    fn default() -> Self {
        Self {
            vocab_size: 32128,
            d_model: 512,
            d_kv: 64,
            d_ff: 2048,
            num_layers: 6,
            num_heads: 8,
            relative_attention_num_buckets: 32,
            relative_attention_max_distance: 128,
            dropout_rate: 0.1,
            layer_norm_epsilon: 1e-6,
            initializer_factor: 1.0,
            feed_forward_proj: "relu".into(),
            pad_token_id: Some(0),
            is_decoder: false,
            extra: serde_json::Map::new(),
        }
    }
}

/// The feed-forward of a [`T5Config`]: its activation and whether it is gated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedForwardProj {
    /// `dense_act_fn`.
    pub act: HiddenAct,
    /// `is_gated_act`: `act(wi_0 x) · wi_1 x` instead of `act(wi x)`.
    pub gated: bool,
}

impl T5Config {
    /// Parses `feed_forward_proj` like `T5Config.__post_init__`: `gated-X` or `X`, with `gated-gelu`
    /// meaning gelu_new for backwards compatibility.
    pub fn feed_forward(&self) -> Result<FeedForwardProj, ConfigIssue> {
        let value = self.feed_forward_proj.as_str();
        let parts: Vec<&str> = value.split('-').collect();
        let (gated, name) = match parts.as_slice() {
            [act] => (false, *act),
            ["gated", act] => (true, *act),
            _ => {
                return Err(ConfigIssue::new(
                    "feed_forward_proj",
                    format!("`{value}` is not of the form `gated-ACT` or `ACT`"),
                ))
            }
        };
        let act = if value == "gated-gelu" {
            HiddenAct::GeluNew
        } else {
            serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|_| {
                ConfigIssue::new(
                    "feed_forward_proj",
                    format!("activation `{name}` is not supported"),
                )
            })?
        };
        Ok(FeedForwardProj { act, gated })
    }

    /// Checks that the config describes a model this module implements.
    pub(crate) fn validate(&self) -> Result<(), ConfigIssue> {
        self.feed_forward()?;
        if self.num_heads == 0 || self.d_kv == 0 || self.d_model == 0 {
            return Err(ConfigIssue::new(
                "num_heads",
                "num_heads, d_kv and d_model must be positive",
            ));
        }
        let max_exact = self.relative_attention_num_buckets / 2 / 2;
        if max_exact == 0 {
            return Err(ConfigIssue::new(
                "relative_attention_num_buckets",
                format!(
                    "{} leaves no exact buckets; need at least 4",
                    self.relative_attention_num_buckets
                ),
            ));
        }
        if self.relative_attention_max_distance <= max_exact {
            return Err(ConfigIssue::new(
                "relative_attention_max_distance",
                format!(
                    "{} must exceed the {max_exact} exact buckets",
                    self.relative_attention_max_distance
                ),
            ));
        }
        if self.is_decoder {
            return Err(ConfigIssue::new(
                "is_decoder",
                "the T5 decoder is not supported (encoder only)",
            ));
        }
        ConfigIssue::check_prob("dropout_rate", self.dropout_rate)?;
        ConfigIssue::check_pad_token(self.pad_token_id, self.vocab_size)?;
        Ok(())
    }
}

/// T5's bidirectional relative position bucket of `relative_position = key − query`
/// (transformers' `T5Attention._relative_position_bucket` with `bidirectional=True`): the first half of
/// the buckets is for keys at or before the query, the second for keys after it; within a half, the
/// first `num_buckets / 4` distances are exact and larger ones are log-spaced up to `max_distance`.
///
/// Computed in f32 like PyTorch, so that the truncation lands on the same bucket.
// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/t5/modeling_t5.py#L218
pub fn relative_position_bucket(
    relative_position: i64,
    num_buckets: i64,
    max_distance: i64,
) -> i64 {
    let half = num_buckets / 2;
    let offset = if relative_position > 0 { half } else { 0 };
    let distance = relative_position.abs();
    let max_exact = half / 2;
    if distance < max_exact {
        return offset + distance;
    }
    let log_ratio = (distance as f32 / max_exact as f32).ln();
    let log_range = ((max_distance as f64 / max_exact as f64).ln()) as f32;
    let large = max_exact + (log_ratio / log_range * (half - max_exact) as f32) as i64;
    offset + large.min(half - 1)
}

/// `T5LayerNorm`: `weight · x / √(mean(x²) + ε)`, no mean subtraction and no bias.
// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/t5/modeling_t5.py#L51
#[derive(Module, Debug)]
pub struct T5LayerNorm<B: Backend> {
    /// HF `weight`, `[d_model]`.
    pub weight: Param<Tensor<B, 1>>,
    /// `layer_norm_epsilon`.
    pub variance_epsilon: f64,
}

impl<B: Backend> T5LayerNorm<B> {
    fn init(d_model: usize, eps: f64, value: f64, device: &B::Device) -> Self {
        Self {
            weight: Param::from_tensor(Tensor::ones([d_model], device) * value),
            variance_epsilon: eps,
        }
    }

    /// # Shapes
    /// - hidden_states, output: `[batch, seq, d_model]`
    ///
    /// Computed in the dtype of the weight (f32 under mixed precision, as transformers computes the
    /// variance in f32), the result cast back to the input's dtype.
    pub fn forward(&self, hidden_states: Tensor<B, 3>) -> Tensor<B, 3> {
        let [_, _, width] = hidden_states.dims();
        let dtype = FloatDType::from(hidden_states.dtype());
        let hidden_states = hidden_states.cast(FloatDType::from(self.weight.val().dtype()));
        let variance = hidden_states.clone().square().mean_dim(2);
        let normed = hidden_states / variance.add_scalar(self.variance_epsilon).sqrt();
        (normed * self.weight.val().reshape([1, 1, width])).cast(dtype)
    }
}

/// Multi-head self-attention without score scaling; the first layer's also owns the relative position
/// bias table.
// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/t5/modeling_t5.py#L177
#[derive(Module, Debug)]
pub struct T5Attention<B: Backend> {
    /// `[d_model, heads·d_kv]`, no bias.
    pub q: Linear<B>,
    /// `[d_model, heads·d_kv]`, no bias.
    pub k: Linear<B>,
    /// `[d_model, heads·d_kv]`, no bias.
    pub v: Linear<B>,
    /// `[heads·d_kv, d_model]`, no bias.
    pub o: Linear<B>,
    /// `[num_buckets, heads]`; only in the first block.
    pub relative_attention_bias: Option<Embedding<B>>,
    /// `dropout_rate`, on the attention probabilities.
    pub dropout: Dropout,
    /// Number of heads.
    pub n_heads: usize,
    /// `relative_attention_num_buckets`.
    pub num_buckets: usize,
    /// `relative_attention_max_distance`.
    pub max_distance: usize,
    /// The `[seq, seq]` bucket indices per sequence length, on each device they were used on.
    bucket_cache: LengthCache,
}

impl<B: Backend> T5Attention<B> {
    fn init(config: &T5Config, has_relative_attention_bias: bool, device: &B::Device) -> Self {
        let (d, inner, f) = (
            config.d_model,
            config.num_heads * config.d_kv,
            config.initializer_factor,
        );
        Self {
            q: init::linear(
                d,
                inner,
                false,
                f * ((d * config.d_kv) as f64).powf(-0.5),
                device,
            ),
            k: init::linear(d, inner, false, f * (d as f64).powf(-0.5), device),
            v: init::linear(d, inner, false, f * (d as f64).powf(-0.5), device),
            o: init::linear(inner, d, false, f * (inner as f64).powf(-0.5), device),
            relative_attention_bias: has_relative_attention_bias.then(|| {
                init::embedding(
                    config.relative_attention_num_buckets,
                    config.num_heads,
                    f * (d as f64).powf(-0.5),
                    None,
                    device,
                )
            }),
            dropout: init::dropout(config.dropout_rate),
            n_heads: config.num_heads,
            num_buckets: config.relative_attention_num_buckets,
            max_distance: config.relative_attention_max_distance,
            bucket_cache: LengthCache::default(),
        }
    }

    /// The bucket of every (query, key) pair of a `seq × seq` self-attention.
    ///
    /// # Shapes
    /// - output: `[seq, seq]`
    fn relative_position_buckets(&self, seq: usize, device: &B::Device) -> Tensor<B, 2, Int> {
        let buckets: Vec<i64> = (0..seq as i64)
            .flat_map(|query| {
                (0..seq as i64).map(move |key| {
                    relative_position_bucket(
                        key - query,
                        self.num_buckets as i64,
                        self.max_distance as i64,
                    )
                })
            })
            .collect();
        Tensor::from_data(TensorData::new(buckets, [seq, seq]), device)
    }

    /// The relative position bias of a `seq × seq` self-attention (`compute_bias`).
    ///
    /// # Shapes
    /// - output: `[1, heads, seq, seq]`
    ///
    /// # Panics
    /// If this layer has no `relative_attention_bias` (only the first block has one).
    pub fn compute_bias(&self, seq: usize, device: &B::Device) -> Tensor<B, 4> {
        let table = self
            .relative_attention_bias
            .as_ref()
            .expect("only the first T5 block computes the position bias");
        let buckets = self
            .bucket_cache
            .get_or_build::<B, _>(seq, device, || self.relative_position_buckets(seq, device));
        // f32 whatever the table's dtype: the bias is added to the padding mask and the scores in f32.
        table
            .forward(buckets)
            .permute([2, 0, 1])
            .reshape([1, self.n_heads, seq, seq])
            .cast(FloatDType::F32)
    }

    /// # Shapes
    /// - hidden_states, output: `[batch, seq, d_model]`
    /// - position_bias: `[batch, heads, seq, seq]`, the relative bias plus the padding mask
    pub fn forward(
        &self,
        hidden_states: Tensor<B, 3>,
        position_bias: Tensor<B, 4>,
    ) -> Tensor<B, 3> {
        let [batch, seq, _] = hidden_states.dims();
        let heads = self.n_heads;
        let inner = self.q.weight.dims()[1];
        let d_kv = inner / heads;
        let split_heads = |x: Tensor<B, 3>| x.reshape([batch, seq, heads, d_kv]).swap_dims(1, 2);
        let query = split_heads(self.q.forward(hidden_states.clone()));
        let key = split_heads(self.k.forward(hidden_states.clone()));
        let value = split_heads(self.v.forward(hidden_states));
        let scores = query.matmul(key.swap_dims(2, 3));
        let probs = self
            .dropout
            .forward(precision::softmax_with_bias(scores, position_bias));
        let attended = probs
            .matmul(value)
            .swap_dims(1, 2)
            .reshape([batch, seq, inner]);
        self.o.forward(attended)
    }
}

/// `layer.0` of a block: `x + dropout(SelfAttention(layer_norm(x)))`.
// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/t5/modeling_t5.py#L374
#[derive(Module, Debug)]
pub struct T5LayerSelfAttention<B: Backend> {
    /// HF `SelfAttention`.
    pub self_attention: T5Attention<B>,
    /// HF `layer_norm`.
    pub layer_norm: T5LayerNorm<B>,
    /// `dropout_rate`.
    pub dropout: Dropout,
}

impl<B: Backend> T5LayerSelfAttention<B> {
    /// # Shapes
    /// - hidden_states, output: `[batch, seq, d_model]`
    /// - position_bias: `[batch, heads, seq, seq]`
    pub fn forward(
        &self,
        hidden_states: Tensor<B, 3>,
        position_bias: Tensor<B, 4>,
    ) -> Tensor<B, 3> {
        let normed = self.layer_norm.forward(hidden_states.clone());
        let attended = self.self_attention.forward(normed, position_bias);
        hidden_states + self.dropout.forward(attended)
    }
}

/// The feed-forward of `T5DenseActDense` (`wi`) or `T5DenseGatedActDense` (`wi_0`, `wi_1`), no biases.
// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/t5/modeling_t5.py#L76
#[derive(Module, Debug)]
pub struct T5DenseReluDense<B: Backend> {
    /// `[d_model, d_ff]`: the ungated input projection (v1.0).
    pub wi: Option<Linear<B>>,
    /// `[d_model, d_ff]`: the activated half of the gated projection (v1.1).
    pub wi_0: Option<Linear<B>>,
    /// `[d_model, d_ff]`: the linear half of the gated projection (v1.1).
    pub wi_1: Option<Linear<B>>,
    /// `[d_ff, d_model]`.
    pub wo: Linear<B>,
    /// `dense_act_fn`.
    pub act: HiddenAct,
    /// `dropout_rate`, before `wo`.
    pub dropout: Dropout,
}

impl<B: Backend> T5DenseReluDense<B> {
    fn init(config: &T5Config, ff: FeedForwardProj, device: &B::Device) -> Self {
        let (d, d_ff, f) = (config.d_model, config.d_ff, config.initializer_factor);
        let input = || init::linear(d, d_ff, false, f * (d as f64).powf(-0.5), device);
        Self {
            wi: (!ff.gated).then(input),
            wi_0: ff.gated.then(input),
            wi_1: ff.gated.then(input),
            wo: init::linear(d_ff, d, false, f * (d_ff as f64).powf(-0.5), device),
            act: ff.act,
            dropout: init::dropout(config.dropout_rate),
        }
    }

    /// # Shapes
    /// - hidden_states, output: `[batch, seq, d_model]`
    pub fn forward(&self, hidden_states: Tensor<B, 3>) -> Tensor<B, 3> {
        let hidden = match (&self.wi, &self.wi_0, &self.wi_1) {
            (Some(wi), _, _) => self.act.forward(wi.forward(hidden_states)),
            (None, Some(wi_0), Some(wi_1)) => {
                self.act.forward(wi_0.forward(hidden_states.clone())) * wi_1.forward(hidden_states)
            }
            _ => unreachable!("a T5 feed-forward has wi or both wi_0 and wi_1"),
        };
        self.wo.forward(self.dropout.forward(hidden))
    }
}

/// `layer.1` of a block: `x + dropout(DenseReluDense(layer_norm(x)))`.
// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/t5/modeling_t5.py#L127
#[derive(Module, Debug)]
pub struct T5LayerFF<B: Backend> {
    /// HF `DenseReluDense`.
    pub dense_relu_dense: T5DenseReluDense<B>,
    /// HF `layer_norm`.
    pub layer_norm: T5LayerNorm<B>,
    /// `dropout_rate`.
    pub dropout: Dropout,
}

impl<B: Backend> T5LayerFF<B> {
    /// # Shapes
    /// - hidden_states, output: `[batch, seq, d_model]`
    pub fn forward(&self, hidden_states: Tensor<B, 3>) -> Tensor<B, 3> {
        let normed = self.layer_norm.forward(hidden_states.clone());
        hidden_states + self.dropout.forward(self.dense_relu_dense.forward(normed))
    }
}

/// One entry of a block's `layer` list: HF's `layer.0` is the attention, `layer.1` the feed-forward.
/// The variant does not appear in checkpoint keys.
#[derive(Module, Debug)]
pub enum T5SubLayer<B: Backend> {
    /// `layer.0`.
    SelfAttention(T5LayerSelfAttention<B>),
    /// `layer.1`.
    FeedForward(T5LayerFF<B>),
}

/// One encoder block (`T5Block` without the decoder's cross-attention).
// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/t5/modeling_t5.py#L439
#[derive(Module, Debug)]
pub struct T5Block<B: Backend> {
    /// HF `layer.{0,1}`.
    pub layer: Vec<T5SubLayer<B>>,
}

impl<B: Backend> T5Block<B> {
    fn init(config: &T5Config, first: bool, ff: FeedForwardProj, device: &B::Device) -> Self {
        let f = config.initializer_factor;
        let norm = || T5LayerNorm::init(config.d_model, config.layer_norm_epsilon, f, device);
        Self {
            layer: vec![
                T5SubLayer::SelfAttention(T5LayerSelfAttention {
                    self_attention: T5Attention::init(config, first, device),
                    layer_norm: norm(),
                    dropout: init::dropout(config.dropout_rate),
                }),
                T5SubLayer::FeedForward(T5LayerFF {
                    dense_relu_dense: T5DenseReluDense::init(config, ff, device),
                    layer_norm: norm(),
                    dropout: init::dropout(config.dropout_rate),
                }),
            ],
        }
    }

    fn attention(&self) -> &T5Attention<B> {
        match self.layer.first() {
            Some(T5SubLayer::SelfAttention(layer)) => &layer.self_attention,
            _ => unreachable!("layer.0 of a T5 block is its self-attention"),
        }
    }

    /// # Shapes
    /// - hidden_states, output: `[batch, seq, d_model]`
    /// - position_bias: `[batch, heads, seq, seq]`
    pub fn forward(
        &self,
        hidden_states: Tensor<B, 3>,
        position_bias: Tensor<B, 4>,
    ) -> Tensor<B, 3> {
        self.layer
            .iter()
            .fold(hidden_states, |x, layer| match layer {
                T5SubLayer::SelfAttention(l) => l.forward(x, position_bias.clone()),
                T5SubLayer::FeedForward(l) => l.forward(x),
            })
    }
}

/// The encoder stack (`T5Stack` with `is_decoder=False`), reading the embeddings from outside.
// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/t5/modeling_t5.py#L644
#[derive(Module, Debug)]
pub struct T5Stack<B: Backend> {
    /// HF `block.{i}`.
    pub block: Vec<T5Block<B>>,
    /// HF `final_layer_norm`.
    pub final_layer_norm: T5LayerNorm<B>,
    /// `dropout_rate`, on the embeddings and on the final state.
    pub dropout: Dropout,
}

impl<B: Backend> T5Stack<B> {
    /// # Shapes
    /// - inputs_embeds, output: `[batch, seq, d_model]`
    /// - attention_mask: `[batch, seq]`, 1 for tokens, 0 for padding
    pub fn forward(
        &self,
        inputs_embeds: Tensor<B, 3>,
        attention_mask: Tensor<B, 2, Int>,
    ) -> Tensor<B, 3> {
        let [batch, seq, _] = inputs_embeds.dims();
        let first = self
            .block
            .first()
            .expect("a T5 encoder has at least one block");
        let heads = first.attention().n_heads;
        // The first block's bias, plus the padding mask, is shared by every block (as transformers
        // passes `position_bias` on); materialised per batch row, head and query once per forward.
        let position_bias = first
            .attention()
            .compute_bias(seq, &inputs_embeds.device())
            .repeat_dim(0, batch)
            + key_padding_bias(attention_mask)
                .repeat_dim(2, seq)
                .repeat_dim(1, heads);
        let hidden = self
            .block
            .iter()
            .fold(self.dropout.forward(inputs_embeds), |x, block| {
                block.forward(x, position_bias.clone())
            });
        self.dropout.forward(self.final_layer_norm.forward(hidden))
    }
}

/// `T5EncoderModel`: `last_hidden_state` of the encoder.
// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/t5/modeling_t5.py#L1076
#[derive(Module, Debug)]
pub struct T5EncoderModel<B: Backend> {
    /// HF `shared` (the encoder's `embed_tokens` is tied to it), `[vocab_size, d_model]`.
    pub shared: Embedding<B>,
    /// HF `encoder`.
    pub encoder: T5Stack<B>,
}

impl<B: Backend> T5EncoderModel<B> {
    /// σ of embedding rows added by `resize_token_embeddings`: T5's `_init_weights` has no branch for
    /// a bare `nn.Embedding`, so transformers ≤ 4.45 left new rows at torch's default N(0, 1).
    pub const NEW_ROW_STD: f64 = 1.0;

    /// Randomly initialised model (transformers' T5 `_init_weights`).
    ///
    /// # Panics
    /// If `config` fails validation (configs from [`crate::BackboneConfig`] always pass).
    pub fn init(config: &T5Config, device: &B::Device) -> Self {
        let ff = match config.validate().and_then(|()| config.feed_forward()) {
            Ok(ff) => ff,
            Err(issue) => panic!("invalid T5 config: {issue}"),
        };
        let f = config.initializer_factor;
        Self {
            shared: init::embedding(config.vocab_size, config.d_model, f, None, device),
            encoder: T5Stack {
                block: (0..config.num_layers)
                    .map(|i| T5Block::init(config, i == 0, ff, device))
                    .collect(),
                final_layer_norm: T5LayerNorm::init(
                    config.d_model,
                    config.layer_norm_epsilon,
                    f,
                    device,
                ),
                dropout: init::dropout(config.dropout_rate),
            },
        }
    }

    /// Token type ids are ignored: T5 has none.
    ///
    /// # Shapes
    /// - input: `input_ids`, `attention_mask`: `[batch, seq]`
    /// - output `last_hidden_state`: `[batch, seq, d_model]`
    pub fn forward(&self, input: BackboneInput<B>) -> BackboneOutput<B> {
        let embedded = self.shared.forward(input.input_ids);
        BackboneOutput {
            last_hidden_state: self.encoder.forward(embedded, input.attention_mask),
        }
    }

    /// Width of the hidden states.
    pub fn hidden_size(&self) -> usize {
        self.shared.weight.dims()[1]
    }

    /// Rows of the word-embedding matrix.
    pub fn vocab_size(&self) -> usize {
        self.shared.weight.dims()[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    fn tiny(extra: serde_json::Value) -> T5Config {
        let mut value = serde_json::json!({
            "vocab_size": 20, "d_model": 8, "d_kv": 3, "d_ff": 16, "num_layers": 2, "num_heads": 2,
            "relative_attention_num_buckets": 8, "relative_attention_max_distance": 6,
            "architectures": ["T5EncoderModel"]
        });
        if let (Some(base), Some(more)) = (value.as_object_mut(), extra.as_object()) {
            base.extend(more.clone());
        }
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn feed_forward_proj_parses_like_transformers() {
        let ff = |s: &str| tiny(serde_json::json!({"feed_forward_proj": s})).feed_forward();
        assert_eq!(
            ff("relu").unwrap(),
            FeedForwardProj {
                act: HiddenAct::Relu,
                gated: false
            }
        );
        assert_eq!(
            ff("gated-gelu").unwrap(),
            FeedForwardProj {
                act: HiddenAct::GeluNew,
                gated: true
            }
        );
        assert_eq!(ff("gated-silu").unwrap().act, HiddenAct::Silu);
        assert_eq!(ff("gelu").unwrap().act, HiddenAct::Gelu);
        assert_eq!(ff("gelu_10").unwrap_err().key, "feed_forward_proj");
        assert_eq!(
            ff("double-gated-relu").unwrap_err().key,
            "feed_forward_proj"
        );
    }

    #[test]
    fn buckets_split_directions_and_saturate() {
        // 8 buckets: 4 per direction, 2 exact; distances ≥ max_distance share the last bucket.
        let b = |d| relative_position_bucket(d, 8, 6);
        assert_eq!([b(0), b(-1), b(1), b(2), b(-2)], [0, 1, 5, 6, 2]);
        assert_eq!(b(100), 7);
        assert_eq!(b(-100), 3);
    }

    #[test]
    fn buckets_are_uploaded_once_per_length() {
        let device = Default::default();
        let model = T5EncoderModel::<Flex>::init(&tiny(serde_json::json!({})), &device);
        let attention = model.encoder.block[0].attention();
        let first = attention.compute_bias(4, &device).into_data();
        assert_eq!(attention.bucket_cache.lengths(), 1);
        assert_eq!(attention.compute_bias(4, &device).into_data(), first);
        assert_eq!(attention.bucket_cache.lengths(), 1);
        let buckets = attention
            .bucket_cache
            .get_or_build::<Flex, Tensor<Flex, 2, Int>>(4, &device, || {
                unreachable!("cached by compute_bias")
            });
        let expected: Vec<i64> = (0..4)
            .flat_map(|q| (0..4).map(move |k| relative_position_bucket(k - q, 8, 6)))
            .collect();
        assert_eq!(
            buckets
                .into_data()
                .convert::<i64>()
                .to_vec::<i64>()
                .unwrap(),
            expected
        );
    }

    #[test]
    fn padding_does_not_change_real_positions() {
        let device = Default::default();
        let model = T5EncoderModel::<Flex>::init(&tiny(serde_json::json!({})), &device);
        let out = model
            .forward(BackboneInput::new(
                Tensor::from_ints([[2, 5, 7, 0, 0]], &device),
                Tensor::from_ints([[1, 1, 1, 0, 0]], &device),
            ))
            .last_hidden_state;
        assert_eq!(out.dims(), [1, 5, 8]);
        let short = model
            .forward(BackboneInput::new(
                Tensor::from_ints([[2, 5, 7]], &device),
                Tensor::from_ints([[1, 1, 1]], &device),
            ))
            .last_hidden_state;
        let diff = (out.slice([0..1, 0..3, 0..8]) - short)
            .abs()
            .max()
            .into_scalar();
        assert!(diff < 1e-5, "{diff}");
    }
}
