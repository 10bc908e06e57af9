//! DeBERTa-v2 and DeBERTa-v3 (He et al., 2021, "DeBERTa: Decoding-enhanced BERT with Disentangled
//! Attention"; He et al., 2023, "DeBERTaV3: Improving DeBERTa using ELECTRA-Style Pre-Training with
//! Gradient-Disentangled Embedding Sharing"), mirrored from transformers' `modeling_deberta_v2.py`
//! (v5.24.0), the architecture of `microsoft/deberta-v3-{small,base,large}`, `microsoft/deberta-v2-*`
//! (without the convolution) and `llm-blender/PairRM`.
//!
//! Supported configs: relative attention with and without log buckets (`position_buckets`),
//! `max_relative_positions` (−1 → `max_position_embeddings`), `share_att_key` true or false, any subset of
//! `pos_att_type` (`c2p`, `p2c`, list or legacy `"p2c|c2p"` string), `position_biased_input`,
//! `type_vocab_size` (0 = none), `embedding_size ≠ hidden_size` (`embed_proj`), `norm_rel_ebd`,
//! `layer_norm_eps` and the activations of [`HiddenAct`]. Checked against transformers on tiny random
//! v3-style, v2-style, c2p-only, p2c-only and non-relative models (`tests/fixtures/models/deberta-*`).
//!
//! Not implemented, and rejected by name when a config asks for it: the convolution layer of
//! `deberta-v2-xlarge`/`xxlarge` (`conv_kernel_size` > 0), `attention_head_size ≠ hidden_size /
//! num_attention_heads`, `pos_att_type` entries other than `c2p`/`p2c` (transformers ignores `p2p`),
//! `norm_rel_ebd` entries other than `layer_norm`/`none`. The MLM/RTD heads and the context pooler are
//! not part of the backbone.
//!
//! Like transformers v5.24 (and unlike the 4.x `XSoftmax`, which zeroed them), padded query rows
//! attend uniformly to every key; valid positions are the same under both. As in both, masked scores
//! are filled (not offset), so no gradient flows through them.
//!
//! Speed notes: queries are scaled once instead of every score matrix; the relative embeddings are
//! cut to the rows a sequence length can reach before they are normalised and projected; the c2p and
//! p2c terms are read out of their `[seq, rows]` products with one flat `select` each, whose index
//! (a function of the sequence length only) is cached on the device per length; the attention mask is expanded to every head
//! once per forward pass rather than broadcast in every layer.

use burn::module::Module;
use burn::nn::{Embedding, LayerNorm, Linear};
use burn::tensor::{backend::Backend, Bool, Int, Tensor, TensorData};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::activation::HiddenAct;
use super::base::{BackboneInput, BackboneOutput, ConfigIssue};
use super::init;
use super::length_cache::LengthCache;
use super::padding::embed_with_padding_idx;
use super::precision;
use crate::dropout::Dropout;

/// One relative attention term of `pos_att_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PosAttType {
    /// Content-to-position: queries against relative-position keys.
    C2p,
    /// Position-to-content: relative-position queries against keys.
    P2c,
}

impl PosAttType {
    fn as_str(self) -> &'static str {
        match self {
            Self::C2p => "c2p",
            Self::P2c => "p2c",
        }
    }
}

fn parse_pos_att_types<E: serde::de::Error>(items: &[String]) -> Result<Vec<PosAttType>, E> {
    items
        .iter()
        .map(|item| match item.trim().to_lowercase().as_str() {
            "c2p" => Ok(PosAttType::C2p),
            "p2c" => Ok(PosAttType::P2c),
            other => Err(E::custom(format!(
                "unsupported relative attention type `{other}` (supported: c2p, p2c)"
            ))),
        })
        .collect()
}

/// `pos_att_type` as a list (`["p2c", "c2p"]`), the legacy `"p2c|c2p"` string, or null.
fn deserialize_pos_att_type<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PosAttType>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum StringOrVec {
        String(String),
        Vec(Vec<String>),
    }
    match Option::<StringOrVec>::deserialize(d)? {
        None => Ok(Vec::new()),
        Some(StringOrVec::String(s)) => {
            parse_pos_att_types(&s.split('|').map(str::to_string).collect::<Vec<_>>())
        }
        Some(StringOrVec::Vec(v)) => parse_pos_att_types(&v),
    }
}

fn serialize_pos_att_type<S: Serializer>(v: &[PosAttType], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|t| t.as_str()))
}

/// `config.json` of a DeBERTa-v2/v3 model: transformers' field names and defaults (including the
/// `getattr` defaults of keys the config class does not declare: `position_buckets`, `share_att_key`,
/// `norm_rel_ebd`, `embedding_size`, `conv_kernel_size`, `attention_head_size`).
///
/// Keys that do not change the encoder's math are kept verbatim in `extra` so that the config can be
/// written back.
// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/deberta_v2/configuration_deberta_v2.py#L24
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DebertaV2Config {
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
    /// Dropout after the embeddings, after each sub-layer's output projection and on the relative
    /// embeddings.
    pub hidden_dropout_prob: f64,
    /// Dropout on the attention probabilities.
    pub attention_probs_dropout_prob: f64,
    /// Rows of `embeddings.position_embeddings` (when `position_biased_input`) and the default
    /// `max_relative_positions`.
    pub max_position_embeddings: usize,
    /// Rows of `embeddings.token_type_embeddings`; 0 means no token type embedding.
    pub type_vocab_size: usize,
    /// σ of the N(0, σ) initialisation.
    pub initializer_range: f64,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f64,
    /// Whether the disentangled relative attention terms are used.
    pub relative_attention: bool,
    /// Largest relative distance; values below 1 mean `max_position_embeddings`.
    pub max_relative_positions: i64,
    /// Number of log-bucketed relative positions on each side; values ≤ 0 mean no bucketing.
    pub position_buckets: i64,
    /// Padding token id (the zeroed embedding row).
    pub pad_token_id: Option<u32>,
    /// Whether absolute position embeddings are added to the input.
    pub position_biased_input: bool,
    /// The relative attention terms.
    #[serde(
        deserialize_with = "deserialize_pos_att_type",
        serialize_with = "serialize_pos_att_type"
    )]
    pub pos_att_type: Vec<PosAttType>,
    /// Whether the relative embeddings are projected by the content query/key projections.
    pub share_att_key: bool,
    /// `"layer_norm"` to normalise the relative embeddings, `"none"` otherwise (`|`-separated).
    pub norm_rel_ebd: String,
    /// Width of the word embeddings when it differs from `hidden_size` (then `embed_proj` maps it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding_size: Option<usize>,
    /// Convolution after the first layer (deberta-v2-xlarge); only absent or 0 is supported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conv_kernel_size: Option<i64>,
    /// Per-head width; only absent or `hidden_size / num_attention_heads` is supported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attention_head_size: Option<usize>,
    /// Every other key of `config.json`, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Default for DebertaV2Config {
    fn default() -> Self {
        Self {
            vocab_size: 128100,
            hidden_size: 1536,
            num_hidden_layers: 24,
            num_attention_heads: 24,
            intermediate_size: 6144,
            hidden_act: HiddenAct::Gelu,
            hidden_dropout_prob: 0.1,
            attention_probs_dropout_prob: 0.1,
            max_position_embeddings: 512,
            type_vocab_size: 0,
            initializer_range: 0.02,
            layer_norm_eps: 1e-7,
            relative_attention: false,
            max_relative_positions: -1,
            position_buckets: -1,
            pad_token_id: Some(0),
            position_biased_input: true,
            pos_att_type: Vec::new(),
            share_att_key: false,
            norm_rel_ebd: "none".into(),
            embedding_size: None,
            conv_kernel_size: None,
            attention_head_size: None,
            extra: serde_json::Map::new(),
        }
    }
}

impl DebertaV2Config {
    /// Checks that the config describes a model this module implements.
    pub(crate) fn validate(&self) -> Result<(), ConfigIssue> {
        ConfigIssue::check_heads(self.hidden_size, self.num_attention_heads)?;
        if let Some(size) = self.attention_head_size {
            if size != self.head_dim() {
                return Err(ConfigIssue::new(
                    "attention_head_size",
                    format!(
                        "{size} differs from hidden_size / num_attention_heads = {}, which is not supported",
                        self.head_dim()
                    ),
                ));
            }
        }
        if self.conv_kernel_size.is_some_and(|k| k > 0) {
            return Err(ConfigIssue::new(
                "conv_kernel_size",
                "the convolution layer of deberta-v2-xlarge/xxlarge (ConvLayer) is not implemented",
            ));
        }
        self.norm_rel_ebd_layer_norm()?;
        if self.embedding_size == Some(0) {
            return Err(ConfigIssue::new("embedding_size", "must be positive"));
        }
        if self.relative_attention && self.attention_span() == 0 {
            return Err(ConfigIssue::new(
                "max_relative_positions",
                "relative attention needs a positive span (max_relative_positions, max_position_embeddings or position_buckets)",
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

    fn norm_rel_ebd_layer_norm(&self) -> Result<bool, ConfigIssue> {
        let mut layer_norm = false;
        for item in self.norm_rel_ebd.to_lowercase().split('|') {
            match item.trim() {
                "layer_norm" => layer_norm = true,
                "none" => {}
                other => {
                    return Err(ConfigIssue::new(
                        "norm_rel_ebd",
                        format!("unsupported entry `{other}` (supported: layer_norm, none)"),
                    ))
                }
            }
        }
        Ok(layer_norm)
    }

    /// Per-head width.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// Width of the word (and position, token type) embeddings.
    pub fn embedding_size(&self) -> usize {
        self.embedding_size.unwrap_or(self.hidden_size)
    }

    /// `max_relative_positions`, with values below 1 replaced by `max_position_embeddings`.
    pub fn effective_max_relative_positions(&self) -> usize {
        if self.max_relative_positions < 1 {
            self.max_position_embeddings
        } else {
            self.max_relative_positions as usize
        }
    }

    /// `pos_ebd_size` in transformers: relative positions on each side of 0; the relative embedding
    /// matrix has twice as many rows.
    pub fn attention_span(&self) -> usize {
        if self.position_buckets > 0 {
            self.position_buckets as usize
        } else {
            self.effective_max_relative_positions()
        }
    }

    fn has(&self, kind: PosAttType) -> bool {
        self.pos_att_type.contains(&kind)
    }
}

/// transformers' `make_log_bucket_position` for one relative distance, in the same f32 arithmetic.
///
/// Distances up to `bucket_size / 2` keep their value; longer ones are mapped logarithmically so that
/// `max_position - 1` lands on `bucket_size / 2 - 1` buckets past the midpoint.
// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/deberta_v2/modeling_deberta_v2.py#L56
pub fn make_log_bucket_position(relative_pos: i64, bucket_size: i64, max_position: i64) -> i64 {
    let mid = bucket_size / 2;
    let abs_pos = if relative_pos < mid && relative_pos > -mid {
        mid - 1
    } else {
        relative_pos.abs()
    };
    if abs_pos <= mid {
        return relative_pos;
    }
    let numerator = (abs_pos as f32 / mid as f32).ln();
    let denominator = (((max_position - 1) as f64 / mid as f64) as f32).ln();
    let log_pos = (numerator / denominator * (mid - 1) as f32).ceil() + mid as f32;
    (log_pos * relative_pos.signum() as f32) as i64
}

/// The relative position `query − key`, bucketed when `position_buckets > 0`
/// (transformers' `build_relative_position`).
fn relative_position(distance: i64, position_buckets: i64, max_relative_positions: i64) -> i64 {
    if position_buckets > 0 && max_relative_positions > 0 {
        make_log_bucket_position(distance, position_buckets, max_relative_positions)
    } else {
        distance
    }
}

/// For one sequence length: which rows of the relative embeddings the c2p and p2c terms read, as flat
/// indices into a `[seq, width]` product.
#[derive(Debug)]
struct RelativeIndex {
    /// First relative-embedding row used.
    first_row: usize,
    /// Number of consecutive rows used.
    width: usize,
    /// `c2p[i·seq + j] = i·width + clamp(rel(i−j) + span, 0, 2·span−1) − first_row`.
    c2p: Vec<i32>,
    /// `p2c[i·seq + j] = j·width + clamp(−rel(j−i) + span, 0, 2·span−1) − first_row`.
    p2c: Vec<i32>,
}

impl RelativeIndex {
    fn new(seq: usize, span: usize, position_buckets: i64, max_relative_positions: i64) -> Self {
        let last = 2 * span as i64 - 1;
        // rel(d) for d = −(seq−1) ..= seq−1, stored at d + seq − 1.
        let rel: Vec<i64> = (-(seq as i64 - 1)..seq as i64)
            .map(|d| relative_position(d, position_buckets, max_relative_positions))
            .collect();
        let rel_at = |d: i64| rel[(d + seq as i64 - 1) as usize];
        let row = |r: i64| (r + span as i64).clamp(0, last);
        let mut c2p_rows = Vec::with_capacity(seq * seq);
        let mut p2c_rows = Vec::with_capacity(seq * seq);
        for i in 0..seq as i64 {
            for j in 0..seq as i64 {
                c2p_rows.push(row(rel_at(i - j)));
                p2c_rows.push(row(-rel_at(j - i)));
            }
        }
        let first_row = *c2p_rows.iter().chain(&p2c_rows).min().unwrap_or(&0);
        let last_row = *c2p_rows.iter().chain(&p2c_rows).max().unwrap_or(&0);
        let width = (last_row - first_row + 1) as usize;
        let flat = |rows: Vec<i64>, query_major: bool| -> Vec<i32> {
            rows.into_iter()
                .enumerate()
                .map(|(n, r)| {
                    let (i, j) = (n / seq, n % seq);
                    let outer = if query_major { i } else { j };
                    (outer * width) as i32 + (r - first_row) as i32
                })
                .collect()
        };
        Self {
            first_row: first_row as usize,
            width,
            c2p: flat(c2p_rows, true),
            p2c: flat(p2c_rows, false),
        }
    }
}

/// A [`RelativeIndex`] uploaded to one device.
#[derive(Debug, Clone)]
struct DeviceRelativeIndex<B: Backend> {
    first_row: usize,
    width: usize,
    c2p: Tensor<B, 1, Int>,
    p2c: Tensor<B, 1, Int>,
}

impl<B: Backend> DeviceRelativeIndex<B> {
    fn upload(index: &RelativeIndex, device: &B::Device) -> Self {
        let to_tensor = |flat: &[i32]| {
            Tensor::<B, 1, Int>::from_data(TensorData::new(flat.to_vec(), [flat.len()]), device)
        };
        Self {
            first_row: index.first_row,
            width: index.width,
            c2p: to_tensor(&index.c2p),
            p2c: to_tensor(&index.p2c),
        }
    }
}

/// What every layer's disentangled attention needs for one forward pass.
#[derive(Debug, Clone)]
pub struct RelativeAttentionInput<B: Backend> {
    /// The used rows of the (normalised) relative embeddings.
    ///
    /// Shape `[width, hidden]`.
    pub embeddings: Tensor<B, 2>,
    /// The row of the full relative-embedding table that `embeddings` starts at (keys dropout).
    pub first_row: usize,
    /// Flat c2p gather index into a `[seq, width]` product, `[seq·seq]`.
    pub c2p_index: Tensor<B, 1, Int>,
    /// Flat p2c gather index into a `[seq, width]` product, `[seq·seq]`.
    pub p2c_index: Tensor<B, 1, Int>,
}

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/deberta_v2/modeling_deberta_v2.py#L480
/// Word (+ position) (+ token type) embeddings, optional projection to `hidden_size`, LayerNorm, the
/// attention mask applied, dropout.
#[derive(Module, Debug)]
pub struct DebertaV2Embeddings<B: Backend> {
    /// `[vocab_size, embedding_size]`.
    pub word_embeddings: Embedding<B>,
    /// `[max_position_embeddings, embedding_size]`, only with `position_biased_input`.
    pub position_embeddings: Option<Embedding<B>>,
    /// `[type_vocab_size, embedding_size]`, only with `type_vocab_size > 0`.
    pub token_type_embeddings: Option<Embedding<B>>,
    /// `embedding_size → hidden_size` without bias, only when they differ.
    pub embed_proj: Option<Linear<B>>,
    /// HF `LayerNorm`.
    pub layer_norm: LayerNorm<B>,
    /// `hidden_dropout_prob`.
    pub dropout: Dropout,
    /// `pad_token_id`: the word-embedding row that gets no gradient (torch's `padding_idx`).
    pub padding_idx: Option<u32>,
}

impl<B: Backend> DebertaV2Embeddings<B> {
    fn init(config: &DebertaV2Config, device: &B::Device) -> Self {
        let (std, e, h) = (
            config.initializer_range,
            config.embedding_size(),
            config.hidden_size,
        );
        let pad = config.pad_token_id.map(|p| p as usize);
        Self {
            word_embeddings: init::embedding(config.vocab_size, e, std, pad, device),
            position_embeddings: config
                .position_biased_input
                .then(|| init::embedding(config.max_position_embeddings, e, std, None, device)),
            token_type_embeddings: (config.type_vocab_size > 0)
                .then(|| init::embedding(config.type_vocab_size, e, std, None, device)),
            embed_proj: (e != h).then(|| init::linear(e, h, false, std, device)),
            layer_norm: init::layer_norm(h, config.layer_norm_eps, device),
            dropout: init::dropout(config.hidden_dropout_prob),
            padding_idx: config.pad_token_id,
        }
    }

    /// # Shapes
    /// - input_ids, attention_mask: `[batch, seq]`
    /// - token_type_ids: `[batch, seq]` (all 0 when `None`; ignored without a token type embedding)
    /// - output: `[batch, seq, hidden]`, zero at padded positions (before dropout)
    ///
    /// # Panics
    /// With `position_biased_input`, if `seq` exceeds `max_position_embeddings`.
    pub fn forward(
        &self,
        input_ids: Tensor<B, 2, Int>,
        token_type_ids: Option<Tensor<B, 2, Int>>,
        attention_mask: Tensor<B, 2, Int>,
    ) -> Tensor<B, 3> {
        let [batch, seq] = input_ids.dims();
        let mut embeddings = match self.padding_idx {
            Some(pad) => embed_with_padding_idx(&self.word_embeddings, input_ids, pad),
            None => self.word_embeddings.forward(input_ids),
        };
        if let Some(positions) = &self.position_embeddings {
            let [max_positions, width] = positions.weight.dims();
            assert!(
                seq <= max_positions,
                "sequence length {seq} exceeds max_position_embeddings {max_positions}"
            );
            embeddings = embeddings
                + positions
                    .weight
                    .val()
                    .slice([0..seq, 0..width])
                    .reshape([1, seq, width]);
        }
        if let Some(token_types) = &self.token_type_embeddings {
            embeddings = embeddings
                + match token_type_ids {
                    Some(ids) => token_types.forward(ids),
                    None => {
                        let width = token_types.weight.dims()[1];
                        token_types
                            .weight
                            .val()
                            .slice([0..1, 0..width])
                            .reshape([1, 1, width])
                    }
                };
        }
        if let Some(proj) = &self.embed_proj {
            embeddings = proj.forward(embeddings);
        }
        let embeddings = precision::layer_norm(&self.layer_norm, embeddings);
        let mask =
            precision::same_dtype(attention_mask.float().reshape([batch, seq, 1]), &embeddings);
        self.dropout.forward(embeddings * mask)
    }
}

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/deberta_v2/modeling_deberta_v2.py#L131
/// Disentangled self-attention: content-to-content scores plus the c2p and p2c relative terms.
#[derive(Module, Debug)]
pub struct DisentangledSelfAttention<B: Backend> {
    /// Query projection (also projects the relative embeddings for p2c with `share_att_key`).
    pub query_proj: Linear<B>,
    /// Key projection (also projects the relative embeddings for c2p with `share_att_key`).
    pub key_proj: Linear<B>,
    /// Value projection.
    pub value_proj: Linear<B>,
    /// Relative-embedding key projection for c2p without `share_att_key`.
    pub pos_key_proj: Option<Linear<B>>,
    /// Relative-embedding query projection for p2c without `share_att_key`.
    pub pos_query_proj: Option<Linear<B>>,
    /// `hidden_dropout_prob`, on the relative embeddings.
    pub pos_dropout: Dropout,
    /// `attention_probs_dropout_prob`, on the attention probabilities.
    pub dropout: Dropout,
    /// Number of heads.
    pub num_attention_heads: usize,
    /// Whether the relative terms are used (`relative_attention`).
    pub relative_attention: bool,
    /// Whether `pos_att_type` has `c2p`.
    pub c2p: bool,
    /// Whether `pos_att_type` has `p2c`.
    pub p2c: bool,
}

impl<B: Backend> DisentangledSelfAttention<B> {
    fn init(config: &DebertaV2Config, device: &B::Device) -> Self {
        let (h, std) = (config.hidden_size, config.initializer_range);
        let (c2p, p2c) = (config.has(PosAttType::C2p), config.has(PosAttType::P2c));
        let separate = config.relative_attention && !config.share_att_key;
        Self {
            query_proj: init::linear(h, h, true, std, device),
            key_proj: init::linear(h, h, true, std, device),
            value_proj: init::linear(h, h, true, std, device),
            pos_key_proj: (separate && c2p).then(|| init::linear(h, h, true, std, device)),
            pos_query_proj: (separate && p2c).then(|| init::linear(h, h, true, std, device)),
            pos_dropout: init::dropout(config.hidden_dropout_prob),
            dropout: init::dropout(config.attention_probs_dropout_prob),
            num_attention_heads: config.num_attention_heads,
            relative_attention: config.relative_attention,
            c2p,
            p2c,
        }
    }

    /// # Shapes
    /// - hidden_states: `[batch, seq, hidden]`
    /// - masked: `[batch, heads or 1, seq, seq]`, true unless query and key are both tokens
    /// - relative: see [`RelativeAttentionInput`]; required when `relative_attention`
    /// - output: `[batch, seq, hidden]`
    pub fn forward(
        &self,
        hidden_states: Tensor<B, 3>,
        masked: Tensor<B, 4, Bool>,
        relative: Option<&RelativeAttentionInput<B>>,
    ) -> Tensor<B, 3> {
        let [batch, seq, hidden] = hidden_states.dims();
        let heads = self.num_attention_heads;
        let head_dim = hidden / heads;
        let scale_factor = 1 + usize::from(self.c2p) + usize::from(self.p2c);
        let inv_scale = 1.0 / ((head_dim * scale_factor) as f64).sqrt();
        let split_heads =
            |x: Tensor<B, 3>| x.reshape([batch, seq, heads, head_dim]).swap_dims(1, 2);

        // Scaling the queries (and p2c's position queries) once equals transformers' division of
        // each score term by sqrt(head_dim · scale_factor), up to rounding.
        let query = split_heads(self.query_proj.forward(hidden_states.clone()) * inv_scale);
        let key = split_heads(self.key_proj.forward(hidden_states.clone()));
        let value = split_heads(self.value_proj.forward(hidden_states));

        // Q·Kᵀ plus the relative terms.
        let mut scores = query.clone().matmul(key.clone().swap_dims(2, 3));
        if self.relative_attention && (self.c2p || self.p2c) {
            let relative = relative.expect("relative attention needs the relative embeddings");
            let rel = self
                .pos_dropout
                .forward_shared(relative.embeddings.clone(), relative.first_row);
            let width = rel.dims()[0];
            // [width, hidden] → [1, heads, head_dim, width], ready to be a matmul's right side.
            let position_heads = |x: Tensor<B, 2>| {
                x.reshape([1, width, heads, head_dim])
                    .swap_dims(1, 2)
                    .swap_dims(2, 3)
            };
            let pick = |product: Tensor<B, 4>, index: &Tensor<B, 1, Int>| {
                product
                    .reshape([batch * heads, seq * width])
                    .select(1, index.clone())
                    .reshape([batch, heads, seq, seq])
            };
            if self.c2p {
                let proj = self.pos_key_proj.as_ref().unwrap_or(&self.key_proj);
                let pos_key = position_heads(proj.forward(rel.clone()));
                scores = scores + pick(query.matmul(pos_key), &relative.c2p_index);
            }
            if self.p2c {
                let proj = self.pos_query_proj.as_ref().unwrap_or(&self.query_proj);
                let pos_query = position_heads(proj.forward(rel) * inv_scale);
                scores = scores + pick(key.matmul(pos_query), &relative.p2c_index);
            }
        }

        let probs = self
            .dropout
            .forward(precision::masked_softmax(scores, masked));
        probs
            .matmul(value)
            .swap_dims(1, 2)
            .reshape([batch, seq, hidden])
    }
}

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/deberta_v2/modeling_deberta_v2.py#L42
/// Output projection of the attention block with residual connection and LayerNorm.
#[derive(Module, Debug)]
pub struct DebertaV2SelfOutput<B: Backend> {
    /// `[hidden, hidden]`.
    pub dense: Linear<B>,
    /// HF `LayerNorm`.
    pub layer_norm: LayerNorm<B>,
    /// `hidden_dropout_prob`.
    pub dropout: Dropout,
}

impl<B: Backend> DebertaV2SelfOutput<B> {
    /// `LayerNorm(dropout(dense(x)) + residual)`.
    ///
    /// # Shapes
    /// - hidden_states, input_tensor, output: `[batch, seq, hidden]`
    pub fn forward(&self, hidden_states: Tensor<B, 3>, input_tensor: Tensor<B, 3>) -> Tensor<B, 3> {
        let x = self.dropout.forward(self.dense.forward(hidden_states));
        precision::layer_norm(&self.layer_norm, x + input_tensor)
    }
}

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/deberta_v2/modeling_deberta_v2.py#L343
/// Disentangled self-attention followed by its output block.
#[derive(Module, Debug)]
pub struct DebertaV2Attention<B: Backend> {
    /// HF `attention.self` (`self` is a Rust keyword).
    pub self_attn: DisentangledSelfAttention<B>,
    /// HF `attention.output`.
    pub output: DebertaV2SelfOutput<B>,
}

impl<B: Backend> DebertaV2Attention<B> {
    /// # Shapes
    /// - hidden_states, output: `[batch, seq, hidden]`
    /// - masked: `[batch, heads or 1, seq, seq]`, true unless query and key are both tokens
    pub fn forward(
        &self,
        hidden_states: Tensor<B, 3>,
        masked: Tensor<B, 4, Bool>,
        relative: Option<&RelativeAttentionInput<B>>,
    ) -> Tensor<B, 3> {
        let attended = self
            .self_attn
            .forward(hidden_states.clone(), masked, relative);
        self.output.forward(attended, hidden_states)
    }
}

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/deberta_v2/modeling_deberta_v2.py#L378
/// First feed-forward projection and the activation.
#[derive(Module, Debug)]
pub struct DebertaV2Intermediate<B: Backend> {
    /// `[hidden, intermediate]`.
    pub dense: Linear<B>,
    /// `hidden_act`.
    pub intermediate_act_fn: HiddenAct,
}

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/deberta_v2/modeling_deberta_v2.py#L394
/// Second feed-forward projection with residual connection and LayerNorm.
#[derive(Module, Debug)]
pub struct DebertaV2Output<B: Backend> {
    /// `[intermediate, hidden]`.
    pub dense: Linear<B>,
    /// HF `LayerNorm`.
    pub layer_norm: LayerNorm<B>,
    /// `hidden_dropout_prob`.
    pub dropout: Dropout,
}

impl<B: Backend> DebertaV2Intermediate<B> {
    /// # Shapes
    /// - hidden_states: `[batch, seq, hidden]`
    /// - output: `[batch, seq, intermediate]`
    pub fn forward(&self, hidden_states: Tensor<B, 3>) -> Tensor<B, 3> {
        self.intermediate_act_fn
            .forward(self.dense.forward(hidden_states))
    }
}

impl<B: Backend> DebertaV2Output<B> {
    /// `LayerNorm(dropout(dense(x)) + residual)`.
    ///
    /// # Shapes
    /// - hidden_states: `[batch, seq, intermediate]`
    /// - input_tensor, output: `[batch, seq, hidden]`
    pub fn forward(&self, hidden_states: Tensor<B, 3>, input_tensor: Tensor<B, 3>) -> Tensor<B, 3> {
        let x = self.dropout.forward(self.dense.forward(hidden_states));
        precision::layer_norm(&self.layer_norm, x + input_tensor)
    }
}

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/deberta_v2/modeling_deberta_v2.py#L410
/// One layer: disentangled attention block, then feed-forward block.
#[derive(Module, Debug)]
pub struct DebertaV2Layer<B: Backend> {
    /// Attention block.
    pub attention: DebertaV2Attention<B>,
    /// Feed-forward expansion.
    pub intermediate: DebertaV2Intermediate<B>,
    /// Feed-forward projection back.
    pub output: DebertaV2Output<B>,
}

impl<B: Backend> DebertaV2Layer<B> {
    fn init(config: &DebertaV2Config, device: &B::Device) -> Self {
        let (h, i, std, eps) = (
            config.hidden_size,
            config.intermediate_size,
            config.initializer_range,
            config.layer_norm_eps,
        );
        Self {
            attention: DebertaV2Attention {
                self_attn: DisentangledSelfAttention::init(config, device),
                output: DebertaV2SelfOutput {
                    dense: init::linear(h, h, true, std, device),
                    layer_norm: init::layer_norm(h, eps, device),
                    dropout: init::dropout(config.hidden_dropout_prob),
                },
            },
            intermediate: DebertaV2Intermediate {
                dense: init::linear(h, i, true, std, device),
                intermediate_act_fn: config.hidden_act,
            },
            output: DebertaV2Output {
                dense: init::linear(i, h, true, std, device),
                layer_norm: init::layer_norm(h, eps, device),
                dropout: init::dropout(config.hidden_dropout_prob),
            },
        }
    }

    /// # Shapes
    /// - hidden_states, output: `[batch, seq, hidden]`
    /// - masked: `[batch, heads or 1, seq, seq]`, true unless query and key are both tokens
    pub fn forward(
        &self,
        hidden_states: Tensor<B, 3>,
        masked: Tensor<B, 4, Bool>,
        relative: Option<&RelativeAttentionInput<B>>,
    ) -> Tensor<B, 3> {
        let attention_output = self.attention.forward(hidden_states, masked, relative);
        let intermediate = self.intermediate.forward(attention_output.clone());
        self.output.forward(intermediate, attention_output)
    }
}

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/deberta_v2/modeling_deberta_v2.py#L559
/// The stack of layers and the relative position embeddings they share.
#[derive(Module, Debug)]
pub struct DebertaV2Encoder<B: Backend> {
    /// HF `encoder.layer.{i}`.
    pub layer: Vec<DebertaV2Layer<B>>,
    /// `[2·attention_span, hidden]`, with `relative_attention`.
    pub rel_embeddings: Option<Embedding<B>>,
    /// HF `encoder.LayerNorm` on the relative embeddings, with `norm_rel_ebd = "layer_norm"`.
    pub layer_norm: Option<LayerNorm<B>>,
    /// `pos_ebd_size`: relative positions on each side of 0.
    pub attention_span: usize,
    /// `position_buckets` (≤ 0: no bucketing).
    pub position_buckets: i64,
    /// `max_relative_positions` after the −1 → `max_position_embeddings` substitution.
    pub max_relative_positions: i64,
    /// Whether any layer reads the relative terms (relative attention with c2p or p2c).
    pub uses_relative_terms: bool,
    /// The c2p / p2c gather indices per sequence length, on each device they were used on.
    relative_index_cache: LengthCache,
}

impl<B: Backend> DebertaV2Encoder<B> {
    fn init(config: &DebertaV2Config, device: &B::Device) -> Self {
        let std = config.initializer_range;
        let span = config.attention_span();
        let layer_norm_rel = config.norm_rel_ebd_layer_norm().expect("validated config");
        Self {
            layer: (0..config.num_hidden_layers)
                .map(|_| DebertaV2Layer::init(config, device))
                .collect(),
            rel_embeddings: config
                .relative_attention
                .then(|| init::embedding(2 * span, config.hidden_size, std, None, device)),
            layer_norm: layer_norm_rel
                .then(|| init::layer_norm(config.hidden_size, config.layer_norm_eps, device)),
            attention_span: span,
            position_buckets: config.position_buckets,
            max_relative_positions: config.effective_max_relative_positions() as i64,
            uses_relative_terms: config.relative_attention && !config.pos_att_type.is_empty(),
            relative_index_cache: LengthCache::default(),
        }
    }

    /// The relative-attention inputs for sequences of length `seq`.
    fn relative_input(&self, seq: usize, device: &B::Device) -> Option<RelativeAttentionInput<B>> {
        let rel_embeddings = self.rel_embeddings.as_ref()?;
        if !self.uses_relative_terms {
            return None;
        }
        let index = self
            .relative_index_cache
            .get_or_build::<B, _>(seq, device, || {
                DeviceRelativeIndex::upload(
                    &RelativeIndex::new(
                        seq,
                        self.attention_span,
                        self.position_buckets,
                        self.max_relative_positions,
                    ),
                    device,
                )
            });
        let hidden = rel_embeddings.weight.dims()[1];
        let rows = index.first_row..index.first_row + index.width;
        let mut embeddings = rel_embeddings.weight.val().slice([rows, 0..hidden]);
        if let Some(norm) = &self.layer_norm {
            embeddings = precision::layer_norm(norm, embeddings);
        }
        Some(RelativeAttentionInput {
            embeddings,
            first_row: index.first_row,
            c2p_index: index.c2p,
            p2c_index: index.p2c,
        })
    }

    /// # Shapes
    /// - hidden_states, output: `[batch, seq, hidden]`
    /// - attention_mask: `[batch, seq]`, 1 for tokens, 0 for padding
    pub fn forward(
        &self,
        hidden_states: Tensor<B, 3>,
        attention_mask: Tensor<B, 2, Int>,
    ) -> Tensor<B, 3> {
        let [batch, seq] = attention_mask.dims();
        let device = hidden_states.device();
        // transformers: masked[b, i, j] unless mask[b, i] · mask[b, j].
        let mask = attention_mask.float();
        let pair_mask = mask.clone().reshape([batch, 1, seq, 1]) * mask.reshape([batch, 1, 1, seq]);
        let heads = self
            .layer
            .first()
            .map_or(1, |l| l.attention.self_attn.num_attention_heads);
        // transformers fills masked scores with finfo.min (masked_fill), so no gradient flows through
        // them: padded query rows attend uniformly but pass nothing back. Materialised for every head
        // once per forward (copied per head, not broadcast): burn-flex then fills with SIMD instead of
        // walking a broadcast mask.
        let masked = pair_mask.equal_elem(0.0).repeat_dim(1, heads);
        let relative = self.relative_input(seq, &device);
        self.layer.iter().fold(hidden_states, |x, layer| {
            layer.forward(x, masked.clone(), relative.as_ref())
        })
    }
}

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/deberta_v2/modeling_deberta_v2.py#L695
/// DeBERTa-v2/v3 encoder: `last_hidden_state` of transformers' `DebertaV2Model`.
#[derive(Module, Debug)]
pub struct DebertaV2Model<B: Backend> {
    /// HF `embeddings`.
    pub embeddings: DebertaV2Embeddings<B>,
    /// HF `encoder`.
    pub encoder: DebertaV2Encoder<B>,
    /// `initializer_range`: σ of new embedding rows in `resize_token_embeddings`.
    pub initializer_range: f64,
}

impl<B: Backend> DebertaV2Model<B> {
    /// Randomly initialised model (transformers' `_init_weights`).
    ///
    /// # Panics
    /// If `config` fails validation (configs from [`crate::BackboneConfig`] always pass).
    pub fn init(config: &DebertaV2Config, device: &B::Device) -> Self {
        if let Err(issue) = config.validate() {
            panic!("invalid DeBERTa-v2 config: {issue}");
        }
        Self {
            embeddings: DebertaV2Embeddings::init(config, device),
            encoder: DebertaV2Encoder::init(config, device),
            initializer_range: config.initializer_range,
        }
    }

    /// # Shapes
    /// - input: `input_ids`, `attention_mask`, `token_type_ids`: `[batch, seq]`
    /// - output `last_hidden_state`: `[batch, seq, hidden]`
    pub fn forward(&self, input: BackboneInput<B>) -> BackboneOutput<B> {
        let embedded = self.embeddings.forward(
            input.input_ids,
            input.token_type_ids,
            input.attention_mask.clone(),
        );
        BackboneOutput {
            last_hidden_state: self.encoder.forward(embedded, input.attention_mask),
        }
    }

    /// Width of the hidden states.
    pub fn hidden_size(&self) -> usize {
        self.embeddings.layer_norm.gamma.dims()[0]
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

    fn parse(json: serde_json::Value) -> DebertaV2Config {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn pos_att_type_forms() {
        let list = parse(serde_json::json!({"pos_att_type": ["p2c", "c2p"]}));
        assert_eq!(list.pos_att_type, [PosAttType::P2c, PosAttType::C2p]);
        let legacy = parse(serde_json::json!({"pos_att_type": "p2c|c2p"}));
        assert_eq!(legacy.pos_att_type, [PosAttType::P2c, PosAttType::C2p]);
        let none = parse(serde_json::json!({"pos_att_type": null}));
        assert!(none.pos_att_type.is_empty());
        let err = serde_json::from_value::<DebertaV2Config>(
            serde_json::json!({"pos_att_type": "c2p|p2p"}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("p2p"), "{err}");
        let back = serde_json::to_value(&legacy).unwrap();
        assert_eq!(back["pos_att_type"], serde_json::json!(["p2c", "c2p"]));
    }

    #[test]
    fn rejects_conv_and_head_size() {
        let mut config = parse(serde_json::json!({"hidden_size": 32, "num_attention_heads": 4}));
        config.validate().unwrap();
        config.conv_kernel_size = Some(3);
        assert_eq!(config.validate().unwrap_err().key, "conv_kernel_size");
        config.conv_kernel_size = Some(0);
        config.attention_head_size = Some(16);
        assert_eq!(config.validate().unwrap_err().key, "attention_head_size");
    }

    #[test]
    fn log_buckets_keep_small_distances() {
        for d in -128..=128 {
            assert_eq!(make_log_bucket_position(d, 256, 512), d);
        }
        assert_eq!(make_log_bucket_position(511, 256, 512), 255);
        assert_eq!(make_log_bucket_position(-511, 256, 512), -255);
        assert_eq!(make_log_bucket_position(129, 256, 512), 129);
    }

    #[test]
    fn relative_index_reads_the_right_rows() {
        // No buckets, span 3: rows clamp(i − j + 3, 0, 5).
        let index = RelativeIndex::new(5, 3, -1, 3);
        let rows: Vec<i64> = (0..25)
            .map(|n| {
                let (i, j) = ((n / 5) as i64, (n % 5) as i64);
                (i - j + 3).clamp(0, 5)
            })
            .collect();
        assert_eq!(index.first_row, 0);
        assert_eq!(index.width, 6);
        for (n, &row) in rows.iter().enumerate() {
            let (i, j) = (n / 5, n % 5);
            assert_eq!(index.c2p[n] as usize, i * 6 + row as usize);
            // p2c(i, j) reads key j's row clamp(−(j − i) + 3) = clamp(i − j + 3).
            assert_eq!(index.p2c[n] as usize, j * 6 + row as usize);
        }
    }

    #[test]
    fn relative_index_is_uploaded_once_per_length() {
        let device = Default::default();
        let config = parse(serde_json::json!({
            "vocab_size": 30, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
            "intermediate_size": 32, "relative_attention": true, "position_buckets": 4,
            "max_relative_positions": -1, "max_position_embeddings": 16,
            "pos_att_type": ["p2c", "c2p"], "position_biased_input": false
        }));
        config.validate().unwrap();
        let model = DebertaV2Model::<Flex>::init(&config, &device);
        let forward = |model: &DebertaV2Model<Flex>, seq: usize| {
            let ids: Vec<i64> = (1..=seq as i64).collect();
            model
                .forward(BackboneInput::new(
                    Tensor::<Flex, 1, Int>::from_ints(ids.as_slice(), &device).unsqueeze(),
                    Tensor::ones([1, seq], &device),
                ))
                .last_hidden_state
                .into_data()
        };
        let cache = &model.encoder.relative_index_cache;
        let first = forward(&model, 7);
        assert_eq!(cache.lengths(), 1);
        // A hit gives the same bits as the upload it reuses; clones share the cache.
        assert_eq!(forward(&model.clone(), 7), first);
        assert_eq!(cache.lengths(), 1);
        forward(&model, 5);
        assert_eq!(cache.lengths(), 2);
        let cached = model.encoder.relative_input(5, &device).unwrap();
        let fresh = RelativeIndex::new(5, config.attention_span(), 4, 16);
        assert_eq!(
            cached.c2p_index.into_data().to_vec::<i32>().unwrap(),
            fresh.c2p
        );
        assert_eq!(
            cached.p2c_index.into_data().to_vec::<i32>().unwrap(),
            fresh.p2c
        );
    }

    #[test]
    fn padded_batch_matches_unpadded_at_valid_positions() {
        let device = Default::default();
        let config = parse(serde_json::json!({
            "vocab_size": 30, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
            "intermediate_size": 32, "relative_attention": true, "position_buckets": 4,
            "max_relative_positions": -1, "max_position_embeddings": 16, "share_att_key": true,
            "pos_att_type": ["p2c", "c2p"], "position_biased_input": false, "norm_rel_ebd": "layer_norm",
            "initializer_range": 0.3
        }));
        config.validate().unwrap();
        let model = DebertaV2Model::<Flex>::init(&config, &device);
        let ids = Tensor::<Flex, 2, Int>::from_ints([[1, 5, 7, 9, 11, 3, 2, 0, 0]], &device);
        let mask = Tensor::<Flex, 2, Int>::from_ints([[1, 1, 1, 1, 1, 1, 1, 0, 0]], &device);
        let padded = model
            .forward(BackboneInput::new(ids, mask))
            .last_hidden_state;
        let short = model
            .forward(BackboneInput::new(
                Tensor::from_ints([[1, 5, 7, 9, 11, 3, 2]], &device),
                Tensor::from_ints([[1, 1, 1, 1, 1, 1, 1]], &device),
            ))
            .last_hidden_state;
        let diff = (padded.slice([0..1, 0..7, 0..16]) - short)
            .abs()
            .max()
            .into_scalar();
        assert!(diff < 1e-5, "{diff}");
    }
}
