//! Reading a YAML config, applying `--set key.path=value` overrides, and typed deserialisation
//! whose errors name the file and the key path.

use std::path::{Path, PathBuf};

use serde_yaml_ng::{Mapping, Value};

use super::{Config, ConfigError};

/// One `--set key.path=value` override; the value is parsed as YAML (`3e-5`, `true`, `[a, b]`, `null`).
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// Dotted key path, e.g. `train.lr`.
    pub path: String,
    /// Parsed value.
    pub value: Value,
}

impl std::str::FromStr for Override {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (path, raw) = s.split_once('=').ok_or_else(|| ConfigError::Override {
            arg: s.to_string(),
            message: "expected key.path=value".into(),
        })?;
        let path = path.trim();
        if path.is_empty() || path.split('.').any(str::is_empty) {
            return Err(ConfigError::Override {
                arg: s.to_string(),
                message: "empty key segment".into(),
            });
        }
        let value = serde_yaml_ng::from_str(raw).map_err(|e| ConfigError::Override {
            arg: s.to_string(),
            message: format!("value is not valid YAML: {e}"),
        })?;
        Ok(Self {
            path: path.to_string(),
            value,
        })
    }
}

impl Config {
    /// Reads `path`, applies `overrides` in order, and deserialises and validates the result.
    /// Per-ranker defaults are filled in (see [`Config::resolve`]).
    pub fn load(path: &Path, overrides: &[Override]) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_yaml_str(&text, path, overrides)
    }

    /// Like [`Config::load`] on text already in memory; `origin` names it in errors.
    pub fn from_yaml_str(
        text: &str,
        origin: &Path,
        overrides: &[Override],
    ) -> Result<Config, ConfigError> {
        let mut tree: Value = if text.trim().is_empty() {
            Value::Mapping(Mapping::new())
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| ConfigError::Syntax {
                file: origin.to_path_buf(),
                message: e.to_string(),
            })?
        };
        if tree.is_null() {
            tree = Value::Mapping(Mapping::new());
        }
        for o in overrides {
            apply_override(&mut tree, o)?;
        }
        let config: Config = serde_path_to_error::deserialize(tree).map_err(|e| {
            let key = e.path().to_string();
            ConfigError::Invalid {
                file: origin.to_path_buf(),
                key: if key == "." {
                    "(top level)".into()
                } else {
                    key
                },
                message: e.into_inner().to_string(),
            }
        })?;
        config.validate(origin)?;
        Ok(config.resolve())
    }

    /// The run directory: `run.output_dir`, or `runs/<run.name>`.
    pub fn output_dir(&self) -> PathBuf {
        self.run
            .output_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("runs").join(&self.run.name))
    }

    /// The resolved config as YAML (written to the run directory).
    pub fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(self).expect("a Config always serialises")
    }
}

fn apply_override(tree: &mut Value, o: &Override) -> Result<(), ConfigError> {
    let segments: Vec<&str> = o.path.split('.').collect();
    let mut node = tree;
    for (i, seg) in segments.iter().enumerate() {
        if node.is_null() {
            *node = Value::Mapping(Mapping::new());
        }
        let Value::Mapping(map) = node else {
            return Err(ConfigError::Override {
                arg: o.path.clone(),
                message: format!("`{}` is not a section", segments[..i].join(".")),
            });
        };
        let key = Value::String((*seg).to_string());
        if i + 1 == segments.len() {
            map.insert(key, o.value.clone());
            return Ok(());
        }
        node = map.entry(key).or_insert(Value::Null);
    }
    unreachable!("an override path has at least one segment")
}
