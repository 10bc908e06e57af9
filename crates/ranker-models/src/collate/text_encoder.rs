use std::path::{Path, PathBuf};

use tokenizers::{Tokenizer, TruncationDirection};

use crate::error::LoadError;

/// Settings of transformers' `tokenizer_config.json` (and `special_tokens_map.json`) that change collation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TokenizerSettings {
    /// `pad_token`, if the files name one.
    pub pad_token: Option<String>,
    /// `sep_token`, if the files name one.
    pub sep_token: Option<String>,
    /// `model_max_length` (transformers' default, "very large", when absent).
    pub model_max_length: Option<usize>,
    /// `clean_up_tokenization_spaces` (transformers 5 default: false); applied by [`TextEncoder::decode`].
    pub clean_up_tokenization_spaces: bool,
}

impl TokenizerSettings {
    /// Reads `tokenizer_config.json` and `special_tokens_map.json` in `dir` when they exist (both are optional;
    /// `tokenizer_config.json` wins where both name a token).
    pub fn from_dir(dir: &Path) -> Result<Self, LoadError> {
        let mut settings = Self::default();
        for name in ["special_tokens_map.json", "tokenizer_config.json"] {
            let path = dir.join(name);
            if !path.is_file() {
                continue;
            }
            let value = read_json(&path)?;
            if let Some(t) = token_text(&value, "pad_token") {
                settings.pad_token = Some(t);
            }
            if let Some(t) = token_text(&value, "sep_token") {
                settings.sep_token = Some(t);
            }
            if let Some(n) = value
                .get("model_max_length")
                .and_then(serde_json::Value::as_f64)
            {
                // transformers writes 1e30 for "no limit".
                settings.model_max_length = (n < 1e15).then_some(n as usize);
            }
            if let Some(b) = value
                .get("clean_up_tokenization_spaces")
                .and_then(serde_json::Value::as_bool)
            {
                settings.clean_up_tokenization_spaces = b;
            }
        }
        Ok(settings)
    }
}

fn read_json(path: &Path) -> Result<serde_json::Value, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| LoadError::ConfigParse {
        path: path.to_path_buf(),
        key: String::from("(document)"),
        message: e.to_string(),
    })
}

/// A token entry is either `"[SEP]"` or an AddedToken object `{"content": "[SEP]", …}`.
fn token_text(config: &serde_json::Value, key: &str) -> Option<String> {
    match config.get(key)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => o.get("content")?.as_str().map(str::to_string),
        _ => None,
    }
}

/// The special tokens collation relies on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecialTokens {
    /// The leading special token of an encoded sequence (`[CLS]`, `<s>`), if the tokenizer adds one.
    pub cls: Option<u32>,
    /// The separator (`[SEP]`, `</s>`): the trailing special token of an encoded sequence.
    pub sep: u32,
    /// The separator's text, replaced by a space in PairRanker input text.
    pub sep_text: String,
    /// The padding token.
    pub pad: u32,
    /// How many special tokens the tokenizer adds around a single sequence.
    pub added_per_sequence: usize,
}

/// Encodes text exactly like transformers' fast tokenizer called with `max_length=L, truncation=True` (right
/// truncation of the content, special tokens kept) and optionally `padding="max_length"`.
#[derive(Clone, Debug)]
pub struct TextEncoder {
    tokenizer: Tokenizer,
    special: SpecialTokens,
    settings: TokenizerSettings,
    source: PathBuf,
}

impl TextEncoder {
    /// Wraps a tokenizer (its own truncation/padding settings are cleared: every call states its length).
    ///
    /// `source` names the tokenizer in errors.
    ///
    /// # Errors
    /// If the tokenizer adds no special tokens around a sequence (decoder-only tokenizers: the reference's
    /// `mannually_add_sep_token` path, which only serves backbones this crate does not implement), or the padding
    /// or separator token cannot be found.
    pub fn new(
        mut tokenizer: Tokenizer,
        settings: TokenizerSettings,
        source: &Path,
    ) -> Result<Self, LoadError> {
        let unsupported = |key: &str, reason: String| LoadError::UnsupportedConfig {
            path: source.to_path_buf(),
            key: key.to_string(),
            reason,
        };
        tokenizer
            .with_truncation(None)
            .map_err(|e| unsupported("truncation", e.to_string()))?;
        tokenizer.with_padding(None);
        let framed = tokenizer
            .encode("", true)
            .map_err(|e| unsupported("post_processor", e.to_string()))?;
        let framed = framed.get_ids().to_vec();
        if framed.is_empty() {
            return Err(unsupported(
                "post_processor",
                "the tokenizer adds no special tokens around a sequence; the ranker layouts need a trailing \
                 separator (decoder-only tokenizers are not supported)"
                    .into(),
            ));
        }
        let lookup = |key: &str, text: &str| {
            tokenizer
                .token_to_id(text)
                .ok_or_else(|| unsupported(key, format!("token `{text}` is not in the vocabulary")))
        };
        let sep = match &settings.sep_token {
            Some(text) => lookup("sep_token", text)?,
            None => *framed.last().expect("non-empty"),
        };
        let pad = match (&settings.pad_token, tokenizer.get_padding()) {
            (Some(text), _) => lookup("pad_token", text)?,
            (None, Some(padding)) => padding.pad_id,
            // transformers' defaults for the supported families (BERT/DeBERTa, RoBERTa).
            (None, None) => ["[PAD]", "<pad>"]
                .iter()
                .find_map(|t| tokenizer.token_to_id(t))
                .ok_or_else(|| {
                    unsupported(
                        "pad_token",
                        "no pad token: name one in tokenizer_config.json or configure padding in \
                         tokenizer.json"
                            .into(),
                    )
                })?,
        };
        let sep_text = tokenizer
            .id_to_token(sep)
            .ok_or_else(|| unsupported("sep_token", format!("id {sep} has no token text")))?;
        let special = SpecialTokens {
            cls: (framed.len() >= 2).then(|| framed[0]),
            sep,
            sep_text,
            pad,
            added_per_sequence: framed.len(),
        };
        Ok(Self {
            tokenizer,
            special,
            settings,
            source: source.to_path_buf(),
        })
    }

    /// The wrapped tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Mutable access, e.g. to add tokens.
    pub(crate) fn tokenizer_mut(&mut self) -> &mut Tokenizer {
        &mut self.tokenizer
    }

    /// The special tokens.
    pub fn special(&self) -> &SpecialTokens {
        &self.special
    }

    /// The `tokenizer_config.json` settings.
    pub fn settings(&self) -> &TokenizerSettings {
        &self.settings
    }

    /// Where the tokenizer came from (for error messages).
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The smallest `max_length` that still keeps one content token after the special tokens.
    pub fn min_max_length(&self) -> usize {
        self.special.added_per_sequence + 1
    }

    /// `tokenizer.encode(text, max_length=max_length, truncation=True)`: special tokens added, content truncated on
    /// the right so the total is at most `max_length`. `index` names the input in errors.
    pub fn encode_truncated(
        &self,
        text: &str,
        max_length: usize,
        index: usize,
    ) -> Result<Vec<u32>, LoadError> {
        assert!(
            max_length >= self.special.added_per_sequence,
            "max_length {max_length} cannot hold the {} special tokens",
            self.special.added_per_sequence
        );
        let mut encoding = self
            .tokenizer
            .encode(text, false)
            .map_err(|source| LoadError::Tokenize { index, source })?;
        encoding.truncate(
            max_length - self.special.added_per_sequence,
            0,
            TruncationDirection::Right,
        );
        encoding.take_overflowing();
        let encoding = self
            .tokenizer
            .post_process(encoding, None, true)
            .map_err(|source| LoadError::Tokenize { index, source })?;
        Ok(encoding.get_ids().to_vec())
    }

    /// `tokenizer.decode(ids, skip_special_tokens=True)`, including transformers' `clean_up_tokenization` when the
    /// tokenizer config enables it (transformers 5 skips it for BPE models, and so do we).
    pub fn decode(&self, ids: &[u32], index: usize) -> Result<String, LoadError> {
        let text = self
            .tokenizer
            .decode(ids, true)
            .map_err(|source| LoadError::Tokenize { index, source })?;
        let is_bpe = matches!(self.tokenizer.get_model(), tokenizers::ModelWrapper::BPE(_));
        if self.settings.clean_up_tokenization_spaces && !is_bpe {
            Ok(clean_up_tokenization(&text))
        } else {
            Ok(text)
        }
    }
}

/// transformers' `PreTrainedTokenizerBase.clean_up_tokenization`.
fn clean_up_tokenization(text: &str) -> String {
    text.replace(" .", ".")
        .replace(" ?", "?")
        .replace(" !", "!")
        .replace(" ,", ",")
        .replace(" ' ", "'")
        .replace(" n't", "n't")
        .replace(" 'm", "'m")
        .replace(" 's", "'s")
        .replace(" 've", "'ve")
        .replace(" 're", "'re")
}

/// A whitespace word-level tokenizer (`[PAD]`=0 `[UNK]`=1 `[CLS]`=2 `[SEP]`=3, words `a`…`e` = 4…8) with a
/// `[CLS] $A [SEP]` template, for unit tests that need exact, hand-checkable ids.
#[cfg(test)]
pub(crate) fn word_level_encoder() -> TextEncoder {
    let special = |id: u32, content: &str| {
        serde_json::json!({"id": id, "content": content, "single_word": false, "lstrip": false,
                           "rstrip": false, "normalized": false, "special": true})
    };
    let json = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null,
        "added_tokens": [special(0, "[PAD]"), special(1, "[UNK]"), special(2, "[CLS]"), special(3, "[SEP]")],
        "normalizer": null,
        "pre_tokenizer": {"type": "WhitespaceSplit"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}
            }
        },
        "decoder": null,
        "model": {"type": "WordLevel", "unk_token": "[UNK]",
                  "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "a": 4, "b": 5, "c": 6, "d": 7, "e": 8}}
    });
    let tokenizer: Tokenizer = json.to_string().parse().expect("valid tokenizer JSON");
    let settings = TokenizerSettings {
        pad_token: Some("[PAD]".into()),
        ..TokenizerSettings::default()
    };
    TextEncoder::new(tokenizer, settings, Path::new("word-level")).expect("encoder")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_tokens_come_from_the_template() {
        let encoder = word_level_encoder();
        let special = encoder.special();
        assert_eq!((special.cls, special.sep, special.pad), (Some(2), 3, 0));
        assert_eq!(special.sep_text, "[SEP]");
        assert_eq!(special.added_per_sequence, 2);
        assert_eq!(encoder.min_max_length(), 3);
    }

    #[test]
    fn truncation_keeps_the_special_tokens() {
        let encoder = word_level_encoder();
        assert_eq!(
            encoder.encode_truncated("a b c d e", 4, 0).unwrap(),
            vec![2, 4, 5, 3]
        );
        assert_eq!(
            encoder.encode_truncated("a b", 9, 0).unwrap(),
            vec![2, 4, 5, 3]
        );
        assert_eq!(encoder.decode(&[2, 4, 5, 3], 0).unwrap(), "a b");
    }

    #[test]
    fn clean_up_matches_transformers_rules() {
        assert_eq!(
            clean_up_tokenization("I do n't know , ok ?"),
            "I don't know, ok?"
        );
    }

    #[test]
    fn settings_read_strings_and_added_token_objects() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("tokenizer_config.json"),
            r#"{"pad_token": {"content": "[PAD]", "lstrip": false}, "sep_token": "[SEP]",
                "model_max_length": 1000000000000000019884624838656, "clean_up_tokenization_spaces": true}"#,
        )
        .unwrap();
        let s = TokenizerSettings::from_dir(dir.path()).unwrap();
        assert_eq!(s.pad_token.as_deref(), Some("[PAD]"));
        assert_eq!(s.sep_token.as_deref(), Some("[SEP]"));
        assert_eq!(s.model_max_length, None);
        assert!(s.clean_up_tokenization_spaces);
    }
}
