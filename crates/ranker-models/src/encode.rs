//! The library half of `ranker encode --model DIR --input TEXTS.jsonl`: tokenize texts (or text
//! pairs) with the directory's `tokenizer.json` and return the backbone's `last_hidden_state` for each,
//! with no head. The CLI owns the JSON lines I/O; this module owns everything between.
//!
//! Inputs are batched by similar length (sorted, padded to the longest in the batch); padding never
//! changes the outputs at real token positions beyond float noise, so each output equals the
//! unbatched one.

use std::path::Path;

use burn::tensor::{backend::Backend, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

use crate::backbone::{Backbone, BackboneConfig, BackboneInput};
use crate::error::LoadError;
use crate::hf::load_backbone;
use crate::tokenizer::load_tokenizer;

/// One input line: `{"text": str}` or `{"text": str, "text_pair": str}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncodeInput {
    /// The (first) text.
    pub text: String,
    /// The second text of a pair, encoded as the tokenizer's pair template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_pair: Option<String>,
}

/// One output line: `{"input_ids": [u32], "last_hidden_state": [[f32]]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncodeOutput {
    /// The token ids, special tokens included.
    pub input_ids: Vec<u32>,
    /// `[seq, hidden]`: one row per token.
    pub last_hidden_state: Vec<Vec<f32>>,
}

/// A backbone with its tokenizer, ready to encode texts.
#[derive(Debug)]
pub struct Encoder<B: Backend> {
    backbone: Backbone<B>,
    config: BackboneConfig,
    tokenizer: Tokenizer,
    device: B::Device,
    max_batch_tokens: usize,
}

/// A tokenized input.
struct Tokenized {
    index: usize,
    ids: Vec<u32>,
    type_ids: Vec<u32>,
}

impl<B: Backend> Encoder<B> {
    /// Default padded tokens per forward pass (batch size × longest input).
    pub const DEFAULT_MAX_BATCH_TOKENS: usize = 8192;

    /// Loads `config.json`, the weights and `tokenizer.json` of a Hugging Face model directory.
    pub fn load(dir: &Path, device: &B::Device) -> Result<Self, LoadError> {
        let (backbone, config) = load_backbone::<B>(dir, device)?;
        let tokenizer = load_tokenizer(dir)?;
        Ok(Self::new(backbone, config, tokenizer, device.clone()))
    }

    /// An encoder from parts already loaded.
    pub fn new(
        backbone: Backbone<B>,
        config: BackboneConfig,
        tokenizer: Tokenizer,
        device: B::Device,
    ) -> Self {
        Self {
            backbone,
            config,
            tokenizer,
            device,
            max_batch_tokens: Self::DEFAULT_MAX_BATCH_TOKENS,
        }
    }

    /// The same encoder computing in `dtype` (bf16 / f16: every backbone parameter but the LayerNorm
    /// ones cast, LayerNorm and softmax in f32, f32 output; see [`crate::backbone::cast_backbone`]).
    pub fn with_compute_dtype(mut self, dtype: burn::tensor::FloatDType) -> Self {
        self.backbone = crate::backbone::cast_backbone(self.backbone, dtype);
        self
    }

    /// Sets the padded tokens per forward pass (at least one input always goes through).
    pub fn with_max_batch_tokens(mut self, max_batch_tokens: usize) -> Self {
        self.max_batch_tokens = max_batch_tokens.max(1);
        self
    }

    /// Encodes every input; outputs are in input order.
    ///
    /// # Errors
    /// An input that does not tokenize, is longer than the model's absolute positions allow, or has a
    /// token (type) id outside the model's embeddings; the error gives the input's index.
    pub fn encode(&self, inputs: &[EncodeInput]) -> Result<Vec<EncodeOutput>, LoadError> {
        let mut tokenized = inputs
            .iter()
            .enumerate()
            .map(|(index, input)| self.tokenize(index, input))
            .collect::<Result<Vec<_>, _>>()?;
        tokenized.sort_by_key(|t| std::cmp::Reverse(t.ids.len()));

        let mut outputs: Vec<Option<EncodeOutput>> = vec![None; inputs.len()];
        let mut start = 0;
        while start < tokenized.len() {
            // Sorted longest first: the first item of a batch sets its padded length.
            let longest = tokenized[start].ids.len().max(1);
            let fit = (self.max_batch_tokens / longest).max(1);
            let end = (start + fit).min(tokenized.len());
            for (item, out) in self.forward_batch(&tokenized[start..end], longest) {
                outputs[item] = Some(out);
            }
            start = end;
        }
        Ok(outputs
            .into_iter()
            .map(|o| o.expect("every input is in exactly one batch"))
            .collect())
    }

    fn tokenize(&self, index: usize, input: &EncodeInput) -> Result<Tokenized, LoadError> {
        let encoding = match &input.text_pair {
            Some(pair) => self
                .tokenizer
                .encode((input.text.as_str(), pair.as_str()), true),
            None => self.tokenizer.encode(input.text.as_str(), true),
        }
        .map_err(|source| LoadError::Tokenize { index, source })?;
        let ids = encoding.get_ids().to_vec();
        let type_ids = encoding.get_type_ids().to_vec();
        if let Some(max) = self.config.max_sequence_length() {
            if ids.len() > max {
                return Err(LoadError::SequenceTooLong {
                    index,
                    len: ids.len(),
                    max,
                });
            }
        }
        let vocab_size = self.backbone.vocab_size();
        if let Some(&token_id) = ids.iter().find(|&&id| id as usize >= vocab_size) {
            return Err(LoadError::TokenOutOfVocab {
                index,
                token_id,
                vocab_size,
            });
        }
        let type_vocab_size = self.config.type_vocab_size();
        if self.config.uses_token_type_ids() && type_vocab_size > 0 {
            if let Some(&type_id) = type_ids.iter().find(|&&t| t as usize >= type_vocab_size) {
                return Err(LoadError::TokenTypeOutOfRange {
                    index,
                    type_id,
                    type_vocab_size,
                });
            }
        }
        Ok(Tokenized {
            index,
            ids,
            type_ids,
        })
    }

    /// Runs one padded batch; returns `(input index, output)` pairs.
    fn forward_batch(&self, items: &[Tokenized], seq: usize) -> Vec<(usize, EncodeOutput)> {
        let batch = items.len();
        let pad = self.config.pad_token_id() as i64;
        let mut ids = vec![pad; batch * seq];
        let mut mask = vec![0i64; batch * seq];
        let mut types = vec![0i64; batch * seq];
        for (row, item) in items.iter().enumerate() {
            for (col, (&id, &type_id)) in item.ids.iter().zip(&item.type_ids).enumerate() {
                ids[row * seq + col] = id as i64;
                mask[row * seq + col] = 1;
                types[row * seq + col] = type_id as i64;
            }
        }
        let tensor = |values: Vec<i64>| {
            Tensor::<B, 2, Int>::from_data(TensorData::new(values, [batch, seq]), &self.device)
        };
        let mut input = BackboneInput::new(tensor(ids), tensor(mask));
        if self.config.uses_token_type_ids() && self.config.type_vocab_size() > 0 {
            input = input.token_type_ids(tensor(types));
        }
        let hidden_state = self.backbone.forward(input);
        let hidden = hidden_state.dims()[2];
        let values = hidden_state
            .into_data()
            .convert::<f32>()
            .to_vec::<f32>()
            .expect("a float tensor converts to f32 values");
        items
            .iter()
            .enumerate()
            .map(|(row, item)| {
                let rows = (0..item.ids.len())
                    .map(|col| {
                        let start = (row * seq + col) * hidden;
                        values[start..start + hidden].to_vec()
                    })
                    .collect();
                (
                    item.index,
                    EncodeOutput {
                        input_ids: item.ids.clone(),
                        last_hidden_state: rows,
                    },
                )
            })
            .collect()
    }
}

/// Loads the model in `dir` and encodes `inputs`: what `ranker encode` computes.
pub fn encode_dir<B: Backend>(
    dir: &Path,
    inputs: &[EncodeInput],
    device: &B::Device,
) -> Result<Vec<EncodeOutput>, LoadError> {
    Encoder::<B>::load(dir, device)?.encode(inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_lines_parse() {
        let one: EncodeInput = serde_json::from_str(r#"{"text": "a"}"#).unwrap();
        assert_eq!(one.text_pair, None);
        let two: EncodeInput = serde_json::from_str(r#"{"text": "a", "text_pair": "b"}"#).unwrap();
        assert_eq!(two.text_pair.as_deref(), Some("b"));
        assert!(serde_json::from_str::<EncodeInput>(r#"{"txt": "a"}"#).is_err());
    }
}
