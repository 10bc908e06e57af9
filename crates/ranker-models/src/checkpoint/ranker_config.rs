use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::LoadError;
use crate::loss::PairLoss;

/// Which ranker a checkpoint holds (`ranker_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RankerType {
    /// PairRanker (`pairranker`; the paper-time code called it `crosscompare`).
    #[serde(rename = "pairranker", alias = "crosscompare")]
    PairRanker,
    /// SummaReranker (`summareranker`).
    #[serde(rename = "summareranker")]
    SummaReranker,
    /// SimCLS (`dual`; `simcls` is accepted because the reference's `Blender.rank` checks for it).
    #[serde(rename = "dual", alias = "simcls")]
    SimCls,
}

impl RankerType {
    /// The reference's spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            RankerType::PairRanker => "pairranker",
            RankerType::SummaReranker => "summareranker",
            RankerType::SimCls => "dual",
        }
    }
}

fn one() -> usize {
    1
}
fn all_pair() -> String {
    "all_pair".into()
}
fn half() -> f64 {
    0.5
}
fn instructgpt() -> String {
    "instructgpt".into()
}
fn linear() -> String {
    "linear".into()
}
fn bubble() -> String {
    "bubble".into()
}
fn drop_out() -> f64 {
    0.05
}
fn yes() -> bool {
    true
}

/// The reference's `RankerConfig` (`llm_blender/pair_ranker/config.py`), as stored in a checkpoint's
/// `ranker_config.json` (and, in the reference's layout, `config.json`). Field names and defaults are the
/// reference's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankerConfig {
    /// Which ranker.
    #[serde(default)]
    pub ranker_type: Option<RankerType>,
    /// Backbone family as the reference spells it (`deberta`, `roberta`, `bert`).
    #[serde(default)]
    pub model_type: Option<String>,
    /// Base model the ranker was built from (a Hugging Face id or a path).
    #[serde(default)]
    pub model_name: Option<String>,
    /// Unused by this crate (kept for the Python package).
    #[serde(default)]
    pub cache_dir: Option<String>,
    /// Unused by this crate (kept for the Python package).
    #[serde(default)]
    pub load_checkpoint: Option<String>,
    /// Source length budget in tokens.
    #[serde(default)]
    pub source_maxlength: Option<usize>,
    /// Candidate length budget in tokens.
    #[serde(default)]
    pub candidate_maxlength: Option<usize>,
    /// Number of metrics scored.
    #[serde(default = "one")]
    pub n_tasks: usize,
    /// Training pair sampling: positives.
    #[serde(default = "one")]
    pub num_pos: usize,
    /// Training pair sampling: negatives.
    #[serde(default = "one")]
    pub num_neg: usize,
    /// Training sub-sampling mode.
    #[serde(default = "all_pair")]
    pub sub_sampling_mode: String,
    /// Training sub-sampling ratio.
    #[serde(default = "half")]
    pub sub_sampling_ratio: f64,
    /// Loss (`instructgpt`, `BCE`, `MSE`, `MoE_BCE`, `simcls`).
    #[serde(default = "instructgpt")]
    pub loss_type: String,
    /// PairRanker head type; only `linear` exists at HEAD.
    #[serde(default = "linear")]
    pub reduce_type: String,
    /// PairRanker inference mode (`bubble`, `full`).
    #[serde(default = "bubble")]
    pub inference_mode: String,
    /// Head dropout.
    #[serde(default = "drop_out")]
    pub drop_out: f64,
    /// Whether the Python package halves the model on GPU.
    #[serde(default = "yes")]
    pub fp16: bool,
    /// Unused by this crate (kept for the Python package).
    #[serde(default)]
    pub device: Option<String>,
}

impl Default for RankerConfig {
    fn default() -> Self {
        serde_json::from_value(serde_json::json!({})).expect("all fields have defaults")
    }
}

/// `llm-blender/pair-ranker`'s `config.json` spells two keys differently from `RankerConfig`.
const KEY_SPELLINGS: [(&str, &str); 2] = [
    ("source_max_length", "source_maxlength"),
    ("candidate_max_length", "candidate_maxlength"),
];

const FIELDS: [&str; 18] = [
    "ranker_type",
    "model_type",
    "model_name",
    "cache_dir",
    "load_checkpoint",
    "source_maxlength",
    "candidate_maxlength",
    "n_tasks",
    "num_pos",
    "num_neg",
    "sub_sampling_mode",
    "sub_sampling_ratio",
    "loss_type",
    "reduce_type",
    "inference_mode",
    "drop_out",
    "fp16",
    "device",
];

impl RankerConfig {
    /// Reads a `ranker_config.json` (or a reference-style `config.json`).
    pub fn from_file(path: &Path) -> Result<Self, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let value = serde_json::from_str(&text).map_err(|e| LoadError::ConfigParse {
            path: path.to_path_buf(),
            key: "(document)".into(),
            message: e.to_string(),
        })?;
        Self::from_json(value, path)
    }

    /// Parses a JSON object; `path` only names the source in errors and logs.
    ///
    /// Keys that are not `RankerConfig` fields are ignored (a merged `config.json` also holds the backbone's
    /// keys). `source_max_length` / `candidate_max_length` (the spelling of `llm-blender/pair-ranker`) are mapped
    /// to `source_maxlength` / `candidate_maxlength` with a logged warning; both spellings with different values
    /// are an error.
    pub fn from_json(value: serde_json::Value, path: &Path) -> Result<Self, LoadError> {
        let serde_json::Value::Object(mut map) = value else {
            return Err(LoadError::ConfigParse {
                path: path.to_path_buf(),
                key: "(document)".into(),
                message: "a ranker config must be a JSON object".into(),
            });
        };
        for (alias, field) in KEY_SPELLINGS {
            let Some(aliased) = map.remove(alias) else {
                continue;
            };
            match map.get(field) {
                Some(existing) if !existing.is_null() && *existing != aliased => {
                    return Err(LoadError::UnsupportedConfig {
                        path: path.to_path_buf(),
                        key: alias.into(),
                        reason: format!("{aliased} contradicts `{field}` = {existing}"),
                    });
                }
                Some(existing) if !existing.is_null() => {}
                _ => {
                    tracing::warn!(
                        "{}: reading `{alias}` as `{field}` (llm-blender/pair-ranker spelling)",
                        path.display()
                    );
                    map.insert(field.into(), aliased);
                }
            }
        }
        map.retain(|key, _| FIELDS.contains(&key.as_str()));
        serde_path_to_error::deserialize(serde_json::Value::Object(map)).map_err(|e| {
            LoadError::ConfigParse {
                path: path.to_path_buf(),
                key: e.path().to_string(),
                message: e.inner().to_string(),
            }
        })
    }

    /// The config as JSON (every field, `null` for unset ones, as the reference's `asdict`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("RankerConfig serializes")
    }

    /// `loss_type` as a pairwise loss.
    ///
    /// # Errors
    /// If `loss_type` is not `instructgpt`, `BCE` or `MSE`; `path` names the config in the error.
    pub fn pair_loss(&self, path: &Path) -> Result<PairLoss, LoadError> {
        serde_json::from_value(serde_json::Value::String(self.loss_type.clone())).map_err(|_| {
            LoadError::UnsupportedConfig {
                path: path.to_path_buf(),
                key: "loss_type".into(),
                reason: format!(
                    "`{}` is not a PairRanker loss (instructgpt, BCE, MSE)",
                    self.loss_type
                ),
            }
        })
    }

    /// `source_maxlength` and `candidate_maxlength`, both required to collate.
    pub fn max_lengths(&self, path: &Path) -> Result<(usize, usize), LoadError> {
        let need = |key: &str, v: Option<usize>| {
            v.ok_or_else(|| LoadError::UnsupportedConfig {
                path: path.to_path_buf(),
                key: key.into(),
                reason: "missing (needed to lay out inputs)".into(),
            })
        };
        Ok((
            need("source_maxlength", self.source_maxlength)?,
            need("candidate_maxlength", self.candidate_maxlength)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<RankerConfig, LoadError> {
        RankerConfig::from_json(v, Path::new("ckpt/config.json"))
    }

    #[test]
    fn defaults_are_the_reference_ones() {
        let c = RankerConfig::default();
        assert_eq!(c.n_tasks, 1);
        assert_eq!(c.sub_sampling_mode, "all_pair");
        assert_eq!(c.sub_sampling_ratio, 0.5);
        assert_eq!(c.loss_type, "instructgpt");
        assert_eq!(c.inference_mode, "bubble");
        assert_eq!(c.drop_out, 0.05);
        assert!(c.fp16);
        assert_eq!(c.ranker_type, None);
    }

    #[test]
    fn pair_ranker_spelling_is_mapped() {
        let c = parse(
            json!({"ranker_type": "pairranker", "source_max_length": 128,
                             "candidate_max_length": 128, "hidden_size": 1024}),
        )
        .unwrap();
        assert_eq!(
            (c.source_maxlength, c.candidate_maxlength),
            (Some(128), Some(128))
        );
        let err = parse(json!({"source_max_length": 128, "source_maxlength": 256})).unwrap_err();
        assert!(err.to_string().contains("source_max_length"), "{err}");
    }

    #[test]
    fn errors_name_the_key() {
        let err = parse(json!({"ranker_type": "crossencoder"})).unwrap_err();
        assert!(err.to_string().contains("ranker_type"), "{err}");
        assert!(err.to_string().contains("ckpt/config.json"), "{err}");
        let err = parse(json!({"n_tasks": "two"})).unwrap_err();
        assert!(err.to_string().contains("n_tasks"), "{err}");
        let c = parse(json!({"loss_type": "MoE_BCE"})).unwrap();
        assert!(c
            .pair_loss(Path::new("x"))
            .unwrap_err()
            .to_string()
            .contains("loss_type"));
    }

    #[test]
    fn round_trips_and_accepts_aliases() {
        let c = parse(json!({"ranker_type": "simcls", "source_maxlength": 10})).unwrap();
        assert_eq!(c.ranker_type, Some(RankerType::SimCls));
        let back = parse(c.to_json()).unwrap();
        assert_eq!(back, c);
        assert_eq!(c.to_json()["ranker_type"], "dual");
    }
}
