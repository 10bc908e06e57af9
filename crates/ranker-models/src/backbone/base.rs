//! What all backbones share: the input builder, the named output, the [`Backbone`] enum over the
//! architectures and the parsed [`BackboneConfig`].

use std::fmt;
use std::path::Path;

use burn::module::Module;
use burn::tensor::{backend::Backend, FloatDType, Int, Tensor};

use super::bert::{BertConfig, BertModel};
use super::deberta_v2::{DebertaV2Config, DebertaV2Model};
use super::init::{self, NewRowInit};
use super::roberta::RobertaModel;
use super::t5::{T5Config, T5EncoderModel};
use crate::error::LoadError;
use crate::io::write_atomic;

/// Input of a backbone forward pass, built as `BackboneInput::new(ids, mask).token_type_ids(t)`.
#[derive(Debug, Clone)]
pub struct BackboneInput<B: Backend> {
    /// Token ids, `[batch, seq]`.
    pub input_ids: Tensor<B, 2, Int>,
    /// 1 for tokens, 0 for padding, `[batch, seq]`.
    pub attention_mask: Tensor<B, 2, Int>,
    /// Segment ids, `[batch, seq]`; `None` means all 0 (what transformers does when they are omitted).
    pub token_type_ids: Option<Tensor<B, 2, Int>>,
}

impl<B: Backend> BackboneInput<B> {
    /// Ids and mask, without token type ids.
    pub fn new(input_ids: Tensor<B, 2, Int>, attention_mask: Tensor<B, 2, Int>) -> Self {
        Self {
            input_ids,
            attention_mask,
            token_type_ids: None,
        }
    }

    /// Adds token type (segment) ids.
    pub fn token_type_ids(mut self, token_type_ids: Tensor<B, 2, Int>) -> Self {
        self.token_type_ids = Some(token_type_ids);
        self
    }
}

/// Output of a backbone forward pass.
#[derive(Debug, Clone)]
pub struct BackboneOutput<B: Backend> {
    /// The last layer's hidden states, `[batch, seq, hidden]`.
    pub last_hidden_state: Tensor<B, 3>,
}

/// A pretrained encoder of any supported architecture.
///
/// Field names inside each variant are the Hugging Face checkpoint key segments (see
/// [`crate::hf`]); the variant itself does not appear in keys.
// The variants are large module trees built once and moved rarely; burn's `Module` is not
// implemented for `Box`, so boxing them is not an option.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Backbone<B: Backend> {
    /// DeBERTa-v2 / DeBERTa-v3.
    DebertaV2(DebertaV2Model<B>),
    /// BERT.
    Bert(BertModel<B>),
    /// RoBERTa and XLM-RoBERTa (the same modules).
    Roberta(RobertaModel<B>),
    /// The T5 encoder (v1.0, v1.1, flan-t5).
    T5(T5EncoderModel<B>),
}

impl<B: Backend> Backbone<B> {
    /// The last hidden state.
    ///
    /// # Shapes
    /// - input: `input_ids`, `attention_mask`, `token_type_ids`: `[batch, seq]`
    /// - output: `[batch, seq, hidden]`
    pub fn forward(&self, input: BackboneInput<B>) -> Tensor<B, 3> {
        self.forward_output(input).last_hidden_state
    }

    /// Like [`Backbone::forward`], with the named output.
    ///
    /// The output is f32 whatever the dtype of the weights (a mixed-precision backbone computes in
    /// bf16/f16), so heads and losses always run in f32.
    pub fn forward_output(&self, input: BackboneInput<B>) -> BackboneOutput<B> {
        let mut output = match self {
            Self::DebertaV2(m) => m.forward(input),
            Self::Bert(m) => m.forward(input),
            Self::Roberta(m) => m.forward(input),
            Self::T5(m) => m.forward(input),
        };
        output.last_hidden_state = output.last_hidden_state.cast(FloatDType::F32);
        output
    }

    /// Width of the hidden states.
    pub fn hidden_size(&self) -> usize {
        match self {
            Self::DebertaV2(m) => m.hidden_size(),
            Self::Bert(m) => m.hidden_size(),
            Self::Roberta(m) => m.hidden_size(),
            Self::T5(m) => m.hidden_size(),
        }
    }

    /// Rows of the word-embedding matrix.
    pub fn vocab_size(&self) -> usize {
        match self {
            Self::DebertaV2(m) => m.vocab_size(),
            Self::Bert(m) => m.vocab_size(),
            Self::Roberta(m) => m.vocab_size(),
            Self::T5(m) => m.vocab_size(),
        }
    }

    /// Grows, shrinks or keeps the word-embedding matrix at `new_vocab` rows, like transformers'
    /// `resize_token_embeddings(new_vocab)`. New rows are drawn from N(0, `initializer_range`), the
    /// behaviour of the transformers versions the reference was trained with; see [`NewRowInit`].
    ///
    /// Shrinking drops rows from the end (deberta-v3's config has 128100 rows but its tokenizer only
    /// 128001 tokens, so adding the four ranker markers *shrinks* it to 128005).
    pub fn resize_token_embeddings(self, new_vocab: usize, device: &B::Device) -> Self {
        self.resize_token_embeddings_with(new_vocab, NewRowInit::Normal, device)
    }

    /// [`Backbone::resize_token_embeddings`] with a chosen initialisation of the new rows.
    pub fn resize_token_embeddings_with(
        self,
        new_vocab: usize,
        row_init: NewRowInit,
        device: &B::Device,
    ) -> Self {
        match self {
            Self::DebertaV2(mut m) => {
                let std = m.initializer_range;
                m.embeddings.word_embeddings = init::resize_embedding(
                    m.embeddings.word_embeddings,
                    new_vocab,
                    row_init,
                    std,
                    device,
                );
                Self::DebertaV2(m)
            }
            Self::Bert(mut m) => {
                let std = m.initializer_range;
                m.embeddings.word_embeddings = init::resize_embedding(
                    m.embeddings.word_embeddings,
                    new_vocab,
                    row_init,
                    std,
                    device,
                );
                Self::Bert(m)
            }
            Self::Roberta(mut m) => {
                let std = m.initializer_range;
                m.embeddings.word_embeddings = init::resize_embedding(
                    m.embeddings.word_embeddings,
                    new_vocab,
                    row_init,
                    std,
                    device,
                );
                Self::Roberta(m)
            }
            Self::T5(mut m) => {
                m.shared = init::resize_embedding(
                    m.shared,
                    new_vocab,
                    row_init,
                    T5EncoderModel::<B>::NEW_ROW_STD,
                    device,
                );
                Self::T5(m)
            }
        }
    }
}

/// A config key this crate cannot honour, found while validating a parsed config.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigIssue {
    /// The config key.
    pub key: String,
    /// Why it cannot be honoured.
    pub reason: String,
}

impl ConfigIssue {
    pub(crate) fn new(key: &str, reason: impl Into<String>) -> Self {
        Self {
            key: key.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn check_prob(key: &str, p: f64) -> Result<(), Self> {
        if (0.0..=1.0).contains(&p) {
            Ok(())
        } else {
            Err(Self::new(key, format!("{p} is not a probability")))
        }
    }

    /// Fails unless `hidden_size` splits into `num_attention_heads` equal heads.
    pub(crate) fn check_heads(hidden_size: usize, num_attention_heads: usize) -> Result<(), Self> {
        if num_attention_heads > 0 && hidden_size.is_multiple_of(num_attention_heads) {
            Ok(())
        } else {
            Err(Self::new(
                "num_attention_heads",
                format!(
                    "hidden_size {hidden_size} is not a multiple of num_attention_heads {num_attention_heads}"
                ),
            ))
        }
    }

    /// Fails when `pad_token_id` is set but is not a row of the `vocab_size`-row embedding.
    pub(crate) fn check_pad_token(
        pad_token_id: Option<u32>,
        vocab_size: usize,
    ) -> Result<(), Self> {
        match pad_token_id {
            Some(pad) if pad as usize >= vocab_size => Err(Self::new(
                "pad_token_id",
                format!("{pad} is outside vocab_size {vocab_size}"),
            )),
            _ => Ok(()),
        }
    }

    fn at(self, path: &Path) -> LoadError {
        LoadError::UnsupportedConfig {
            path: path.to_path_buf(),
            key: self.key,
            reason: self.reason,
        }
    }
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config key `{}`: {}", self.key, self.reason)
    }
}

/// A parsed and validated Hugging Face `config.json` of a supported backbone.
///
/// Each variant's struct mirrors transformers' config class (same field names and defaults) and keeps
/// the keys it does not interpret, so [`BackboneConfig::to_json`] writes back a config transformers
/// loads.
#[derive(Debug, Clone, PartialEq)]
pub enum BackboneConfig {
    /// `model_type` `deberta-v2`.
    DebertaV2(DebertaV2Config),
    /// `model_type` `bert`.
    Bert(BertConfig),
    /// `model_type` `roberta` (BERT's fields with RoBERTa's defaults).
    Roberta(BertConfig),
    /// `model_type` `xlm-roberta`: RoBERTa's architecture (BERT's fields with XLM-RoBERTa's defaults);
    /// only the tokenizer (SentencePiece Unigram) differs.
    XlmRoberta(BertConfig),
    /// `model_type` `t5` (the encoder of any T5 checkpoint).
    T5(T5Config),
}

fn parse_as<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    path: &Path,
) -> Result<T, LoadError> {
    serde_path_to_error::deserialize(value).map_err(|e| LoadError::ConfigParse {
        path: path.to_path_buf(),
        key: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

impl BackboneConfig {
    /// Reads and validates a `config.json`.
    ///
    /// # Errors
    /// Unreadable file, invalid JSON, unknown `model_type`, a key of the wrong type, or a config feature
    /// that is not implemented (the error names the key).
    pub fn from_file(path: &Path) -> Result<Self, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| LoadError::ConfigParse {
                path: path.to_path_buf(),
                key: String::from("(document)"),
                message: e.to_string(),
            })?;
        Self::from_json(value, path)
    }

    /// Parses and validates a `config.json` document; `path` is only used in error messages.
    pub fn from_json(value: serde_json::Value, path: &Path) -> Result<Self, LoadError> {
        let serde_json::Value::Object(mut map) = value else {
            return Err(
                ConfigIssue::new("(document)", "config.json must be a JSON object").at(path),
            );
        };
        let model_type = map
            .get("model_type")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| ConfigIssue::new("model_type", "missing").at(path))?;
        let config = match model_type.as_str() {
            "deberta-v2" | "deberta_v2" => Self::DebertaV2(parse_as(map.into(), path)?),
            "bert" => Self::Bert(parse_as(map.into(), path)?),
            "roberta" => {
                // RobertaConfig's defaults where they differ from BertConfig's.
                map.entry("vocab_size").or_insert(50265.into());
                map.entry("pad_token_id").or_insert(1.into());
                Self::Roberta(parse_as(map.into(), path)?)
            }
            "xlm-roberta" => {
                // XLMRobertaConfig's default where it differs from BertConfig's.
                map.entry("pad_token_id").or_insert(1.into());
                Self::XlmRoberta(parse_as(map.into(), path)?)
            }
            "t5" => Self::T5(parse_as(map.into(), path)?),
            other => {
                return Err(ConfigIssue::new(
                    "model_type",
                    format!(
                        "`{other}` is not supported (supported: deberta-v2, bert, roberta, \
                         xlm-roberta, t5)"
                    ),
                )
                .at(path))
            }
        };
        config.validate().map_err(|issue| issue.at(path))?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        let pad = match self {
            Self::DebertaV2(c) => {
                c.validate()?;
                c.pad_token_id
            }
            Self::Bert(c) | Self::Roberta(c) | Self::XlmRoberta(c) => {
                c.validate()?;
                c.pad_token_id
            }
            Self::T5(c) => {
                c.validate()?;
                c.pad_token_id
            }
        };
        if pad.is_none() {
            return Err(ConfigIssue::new(
                "pad_token_id",
                "null is not supported: batching needs a padding token",
            ));
        }
        Ok(())
    }

    /// A randomly initialised backbone (transformers' `_init_weights`), drawn from the device's RNG
    /// (seed it with `B::seed`).
    pub fn init<B: Backend>(&self, device: &B::Device) -> Backbone<B> {
        match self {
            Self::DebertaV2(c) => Backbone::DebertaV2(DebertaV2Model::init(c, device)),
            Self::Bert(c) => Backbone::Bert(BertModel::init(c, device)),
            Self::Roberta(c) | Self::XlmRoberta(c) => {
                Backbone::Roberta(RobertaModel::init(c, device))
            }
            Self::T5(c) => Backbone::T5(T5EncoderModel::init(c, device)),
        }
    }

    /// HF `model_type`.
    pub fn model_type(&self) -> &'static str {
        match self {
            Self::DebertaV2(_) => "deberta-v2",
            Self::Bert(_) => "bert",
            Self::Roberta(_) => "roberta",
            Self::XlmRoberta(_) => "xlm-roberta",
            Self::T5(_) => "t5",
        }
    }

    /// Width of the hidden states.
    pub fn hidden_size(&self) -> usize {
        match self {
            Self::DebertaV2(c) => c.hidden_size,
            Self::Bert(c) | Self::Roberta(c) | Self::XlmRoberta(c) => c.hidden_size,
            Self::T5(c) => c.d_model,
        }
    }

    /// Rows of the word-embedding matrix.
    pub fn vocab_size(&self) -> usize {
        match self {
            Self::DebertaV2(c) => c.vocab_size,
            Self::Bert(c) | Self::Roberta(c) | Self::XlmRoberta(c) => c.vocab_size,
            Self::T5(c) => c.vocab_size,
        }
    }

    /// The padding token id (validation guarantees there is one).
    pub fn pad_token_id(&self) -> u32 {
        let pad = match self {
            Self::DebertaV2(c) => c.pad_token_id,
            Self::Bert(c) | Self::Roberta(c) | Self::XlmRoberta(c) => c.pad_token_id,
            Self::T5(c) => c.pad_token_id,
        };
        pad.expect("validated config has a pad_token_id")
    }

    /// Rows of the token type embedding (0: the model has none).
    pub fn type_vocab_size(&self) -> usize {
        match self {
            Self::DebertaV2(c) => c.type_vocab_size,
            Self::Bert(c) | Self::Roberta(c) | Self::XlmRoberta(c) => c.type_vocab_size,
            Self::T5(_) => 0,
        }
    }

    /// Whether transformers' tokenizer for this architecture returns `token_type_ids` to the model
    /// (its `model_input_names`): yes for BERT and DeBERTa-v2, no for RoBERTa, XLM-RoBERTa and T5.
    pub fn uses_token_type_ids(&self) -> bool {
        matches!(self, Self::DebertaV2(_) | Self::Bert(_))
    }

    /// The longest input in tokens, if absolute positions bound it (`None` for DeBERTa without
    /// `position_biased_input` and for T5: relative positions are clamped, any length works).
    pub fn max_sequence_length(&self) -> Option<usize> {
        match self {
            Self::DebertaV2(c) => c.position_biased_input.then_some(c.max_position_embeddings),
            Self::Bert(c) => Some(c.max_position_embeddings),
            // Positions start at pad_token_id + 1.
            Self::Roberta(c) | Self::XlmRoberta(c) => Some(
                c.max_position_embeddings
                    .saturating_sub(c.pad_token_id.unwrap_or(1) as usize + 1),
            ),
            Self::T5(_) => None,
        }
    }

    /// The same config with `vocab_size` set, e.g. after [`Backbone::resize_token_embeddings`].
    pub fn with_vocab_size(mut self, vocab_size: usize) -> Self {
        match &mut self {
            Self::DebertaV2(c) => c.vocab_size = vocab_size,
            Self::Bert(c) | Self::Roberta(c) | Self::XlmRoberta(c) => c.vocab_size = vocab_size,
            Self::T5(c) => c.vocab_size = vocab_size,
        }
        self
    }

    /// The config as transformers' `config.json` (with `model_type`).
    pub fn to_json(&self) -> serde_json::Value {
        let value = match self {
            Self::DebertaV2(c) => serde_json::to_value(c),
            Self::Bert(c) | Self::Roberta(c) | Self::XlmRoberta(c) => serde_json::to_value(c),
            Self::T5(c) => serde_json::to_value(c),
        };
        let mut value = value.expect("config structs serialize to JSON");
        if let Some(map) = value.as_object_mut() {
            map.insert("model_type".into(), self.model_type().into());
        }
        value
    }

    /// Writes [`BackboneConfig::to_json`] to `path` atomically (pretty-printed).
    pub fn write_file(&self, path: &Path) -> Result<(), LoadError> {
        let mut text =
            serde_json::to_string_pretty(&self.to_json()).expect("JSON values serialize");
        text.push('\n');
        write_atomic(path, text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(value: serde_json::Value) -> LoadError {
        BackboneConfig::from_json(value, Path::new("dir/config.json")).unwrap_err()
    }

    #[test]
    fn errors_name_the_key() {
        let e = err(
            json!({"model_type": "deberta-v2", "hidden_size": 32, "num_attention_heads": 4,
                           "conv_kernel_size": 3}),
        );
        assert!(e.to_string().contains("`conv_kernel_size`"), "{e}");
        assert!(e.to_string().contains("dir/config.json"), "{e}");
        let e = err(json!({"model_type": "bert", "hidden_act": "gelu_10"}));
        assert!(e.to_string().contains("`hidden_act`"), "{e}");
        let e = err(json!({"model_type": "bert", "hidden_size": "wide"}));
        assert!(e.to_string().contains("`hidden_size`"), "{e}");
        let e = err(json!({"model_type": "gpt2"}));
        assert!(e.to_string().contains("`model_type`"), "{e}");
        let e = err(json!({"model_type": "t5", "feed_forward_proj": "gated-gelu_10"}));
        assert!(e.to_string().contains("`feed_forward_proj`"), "{e}");
        let e = err(json!({"model_type": "t5", "is_decoder": true}));
        assert!(e.to_string().contains("`is_decoder`"), "{e}");
        let e = err(json!({"model_type": "bert", "pad_token_id": null}));
        assert!(e.to_string().contains("`pad_token_id`"), "{e}");
    }

    #[test]
    fn roberta_defaults_and_round_trip() {
        let config = BackboneConfig::from_json(
            json!({"model_type": "roberta", "hidden_size": 16, "num_attention_heads": 2,
                   "architectures": ["RobertaModel"]}),
            Path::new("config.json"),
        )
        .unwrap();
        assert_eq!(config.pad_token_id(), 1);
        assert_eq!(config.vocab_size(), 50265);
        assert_eq!(config.max_sequence_length(), Some(510));
        let back = config.clone().with_vocab_size(100).to_json();
        assert_eq!(back["vocab_size"], 100);
        assert_eq!(back["architectures"], json!(["RobertaModel"]));
        let again = BackboneConfig::from_json(back, Path::new("config.json")).unwrap();
        assert_eq!(again, config.with_vocab_size(100));
    }
}
