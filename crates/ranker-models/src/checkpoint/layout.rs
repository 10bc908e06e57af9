//! The ranker checkpoint directory layout, shared by the three rankers.
//!
//! ```text
//! model.safetensors      pretrained_model.* (HF names/layouts) + the ranker's own keys (torch names/layouts)
//! ranker_config.json     RankerConfig (the reference's fields)
//! config.json            the backbone's HF config merged with the RankerConfig fields (model_name: null), so that
//!                        transformers' AutoConfig/AutoModel and LLM-Blender's Blender.loadranker(dir) both read it
//! added_tokens.json      {marker: id} for the ranker's added tokens
//! tokenizer.json         the tokenizer with the added tokens (+ tokenizer_config.json, special_tokens_map.json
//!                        copied from where the tokenizer came from)
//! ```
//! Reading also accepts the reference's own layout (`llm-blender/PairRM`, `llm-blender/pair-ranker`): weights as
//! `model.safetensors` or `pytorch_model.bin`, `config.json` holding only the RankerConfig (then the backbone's
//! config and, if the checkpoint has none, the tokenizer come from the base model's directory).

use std::path::{Path, PathBuf};

use burn::tensor::TensorData;

use super::ranker_config::{RankerConfig, RankerType};
use crate::backbone::BackboneConfig;
use crate::collate::TextEncoder;
use crate::error::LoadError;

/// Backbone `model_type`s `config.json` may carry when it is a backbone config.
const BACKBONE_MODEL_TYPES: [&str; 6] = [
    "deberta-v2",
    "deberta_v2",
    "bert",
    "roberta",
    "xlm-roberta",
    "t5",
];

/// Files the tokenizer's directory may have besides `tokenizer.json`; copied into saved checkpoints.
const TOKENIZER_SIDE_FILES: [&str; 2] = ["tokenizer_config.json", "special_tokens_map.json"];

/// Where the parts of a checkpoint were found.
pub(crate) struct CheckpointParts {
    pub ranker_config: RankerConfig,
    pub ranker_config_path: PathBuf,
    pub backbone_config: BackboneConfig,
    pub tokenizer_dir: PathBuf,
    pub weights: PathBuf,
}

fn read_json(path: &Path) -> Result<serde_json::Value, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| LoadError::ConfigParse {
        path: path.to_path_buf(),
        key: "(document)".into(),
        message: e.to_string(),
    })
}

fn is_backbone_config(value: &serde_json::Value) -> bool {
    value
        .get("model_type")
        .and_then(serde_json::Value::as_str)
        .is_some_and(|t| BACKBONE_MODEL_TYPES.contains(&t))
        // T5 calls its width `d_model`.
        && (value.get("hidden_size").is_some() || value.get("d_model").is_some())
}

/// Finds the ranker config, backbone config, tokenizer and weights of the checkpoint in `dir`.
pub(crate) fn resolve(
    dir: &Path,
    base_model_dir: Option<&Path>,
    expected: RankerType,
) -> Result<CheckpointParts, LoadError> {
    let config_path = dir.join("config.json");
    let config_json = if config_path.is_file() {
        Some(read_json(&config_path)?)
    } else {
        None
    };
    let ranker_config_path = if dir.join("ranker_config.json").is_file() {
        dir.join("ranker_config.json")
    } else if config_json
        .as_ref()
        .is_some_and(|c| c.get("ranker_type").is_some())
    {
        config_path.clone()
    } else {
        return Err(LoadError::Io {
            path: dir.join("ranker_config.json"),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no ranker_config.json, and config.json has no `ranker_type`",
            ),
        });
    };
    let ranker_config = RankerConfig::from_file(&ranker_config_path)?;
    match ranker_config.ranker_type {
        Some(t) if t == expected => {}
        other => {
            return Err(LoadError::UnsupportedConfig {
                path: ranker_config_path,
                key: "ranker_type".into(),
                reason: format!(
                    "{} but a `{}` checkpoint was asked for",
                    other.map_or("missing".to_string(), |t| format!("`{}`", t.as_str())),
                    expected.as_str()
                ),
            })
        }
    }

    let backbone_config = match (&config_json, base_model_dir) {
        (Some(json), _) if is_backbone_config(json) => {
            BackboneConfig::from_json(json.clone(), &config_path)?
        }
        (_, Some(base)) => BackboneConfig::from_file(&base.join("config.json"))?,
        (_, None) => {
            return Err(LoadError::MissingBackboneConfig {
                dir: dir.to_path_buf(),
                model_name: ranker_config
                    .model_name
                    .clone()
                    .unwrap_or_else(|| "(model_name not set)".into()),
            })
        }
    };

    let tokenizer_dir = if dir.join("tokenizer.json").is_file() {
        dir.to_path_buf()
    } else if let Some(base) = base_model_dir.filter(|b| b.join("tokenizer.json").is_file()) {
        base.to_path_buf()
    } else {
        return Err(LoadError::Io {
            path: dir.join("tokenizer.json"),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no tokenizer.json in the checkpoint or the base model directory (a checkpoint with only \
                 spm.model: convert it once with transformers, \
                 AutoTokenizer.from_pretrained(dir).save_pretrained(dir))",
            ),
        });
    };
    Ok(CheckpointParts {
        ranker_config,
        ranker_config_path,
        backbone_config,
        tokenizer_dir,
        weights: crate::hf::find_weights(dir)?,
    })
}

/// Checks the ids of `added_tokens.json` in `dir` (when present) against the tokenizer's ids of `tokens`.
pub(crate) fn check_added_tokens(dir: &Path, found: &[(&str, u32)]) -> Result<(), LoadError> {
    let path = dir.join("added_tokens.json");
    if !path.is_file() {
        return Ok(());
    }
    let json = read_json(&path)?;
    for &(token, id) in found {
        if let Some(expected) = json.get(token).and_then(serde_json::Value::as_u64) {
            if expected != u64::from(id) {
                return Err(LoadError::MarkerIdMismatch {
                    path,
                    token: token.to_string(),
                    expected,
                    found: id,
                });
            }
        }
    }
    Ok(())
}

/// Everything a ranker checkpoint holds besides the model.
pub(crate) struct CheckpointContents<'a> {
    pub ranker_config: &'a RankerConfig,
    pub backbone_config: &'a BackboneConfig,
    pub encoder: &'a TextEncoder,
    pub added_tokens: Vec<(&'a str, u32)>,
    pub tensors: Vec<(String, TensorData)>,
}

/// Writes the checkpoint directory `dir` atomically (see the module docs for the files).
pub(crate) fn write_checkpoint(
    dir: &Path,
    contents: CheckpointContents<'_>,
) -> Result<(), LoadError> {
    super::atomic_dir::write_dir_atomic(dir, |tmp| {
        crate::hf::write_safetensors(&tmp.join("model.safetensors"), &contents.tensors)?;
        let ranker_json = contents.ranker_config.to_json();
        write_json(&tmp.join("ranker_config.json"), &ranker_json)?;
        let mut merged = contents.backbone_config.to_json();
        if let (Some(merged), Some(ranker)) = (merged.as_object_mut(), ranker_json.as_object()) {
            for (key, value) in ranker {
                match key.as_str() {
                    // The backbone's HF model_type must win; Blender.loadranker reads deberta-v2 as deberta.
                    "model_type" => {}
                    // Null, so that Blender.loadranker(dir) builds the backbone and tokenizer from dir itself.
                    "model_name" | "cache_dir" | "load_checkpoint" | "device" => {
                        merged.insert(key.clone(), serde_json::Value::Null);
                    }
                    _ => {
                        merged.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        write_json(&tmp.join("config.json"), &merged)?;
        let added: serde_json::Map<String, serde_json::Value> = contents
            .added_tokens
            .iter()
            .map(|&(t, id)| (t.to_string(), id.into()))
            .collect();
        write_json(&tmp.join("added_tokens.json"), &added.into())?;
        let tokenizer_path = tmp.join("tokenizer.json");
        contents
            .encoder
            .tokenizer()
            .save(&tokenizer_path, false)
            .map_err(|e| LoadError::Write {
                path: tokenizer_path.clone(),
                source: std::io::Error::other(e),
            })?;
        let source_dir = contents.encoder.source();
        let source_dir = if source_dir.is_dir() {
            source_dir
        } else {
            source_dir.parent().unwrap_or(Path::new("."))
        };
        for name in TOKENIZER_SIDE_FILES {
            let from = source_dir.join(name);
            if from.is_file() {
                std::fs::copy(&from, tmp.join(name)).map_err(|source| LoadError::Write {
                    path: tmp.join(name),
                    source,
                })?;
            }
        }
        Ok(())
    })
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<(), LoadError> {
    let mut text = serde_json::to_string_pretty(value).expect("JSON values serialize");
    text.push('\n');
    std::fs::write(path, text).map_err(|source| LoadError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// A ranker read from a checkpoint directory, with what is needed to feed it.
#[derive(Debug)]
pub struct LoadedRanker<M, T> {
    /// The model.
    pub model: M,
    /// The tokenizer (with the ranker's added tokens) or collation front end.
    pub tokenizer: T,
    /// The checkpoint's ranker config.
    pub ranker_config: RankerConfig,
    /// The backbone config, `vocab_size` set to the embedding rows actually loaded.
    pub backbone_config: BackboneConfig,
}

/// Key prefix of the backbone's tensors in ranker checkpoints.
pub(crate) const BACKBONE_PREFIX: &str = "pretrained_model.";
