//! Loading the configured data splits with the config's filters and metrics.

use std::path::Path;

use ranker_data::{Dataset, LoadOptions};

use crate::config::Config;
use crate::error::TrainError;

/// A split of `data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// `data.train`, truncated to `data.max_train_size`.
    Train,
    /// `data.dev`, truncated to `data.max_eval_size`.
    Dev,
    /// `data.test`, truncated to `data.max_predict_size`.
    Test,
}

impl Split {
    /// The config key of the split's path.
    pub fn key(self) -> &'static str {
        match self {
            Split::Train => "data.train",
            Split::Dev => "data.dev",
            Split::Test => "data.test",
        }
    }
}

/// The load options of `config.data` for `split` (metric weights applied, as the reference does).
pub fn load_options(config: &Config, split: Split) -> LoadOptions {
    let d = &config.data;
    let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    LoadOptions {
        candidate_models: list(&d.candidate_models),
        decoding_methods: list(&d.decoding_methods),
        metrics: d.metrics.clone(),
        apply_metric_weights: true,
        n_candidates: d.n_candidates,
        max_size: match split {
            Split::Train => d.max_train_size,
            Split::Dev => d.max_eval_size,
            Split::Test => d.max_predict_size,
        },
    }
}

/// The configured path of `split`, if any.
pub fn split_path(config: &Config, split: Split) -> Option<&Path> {
    let d = &config.data;
    match split {
        Split::Train => d.train.as_deref(),
        Split::Dev => d.dev.as_deref(),
        Split::Test => d.test.as_deref(),
    }
}

/// Loads `split`; `None` when the config names no file for it.
pub fn load_split(config: &Config, split: Split) -> Result<Option<Dataset>, TrainError> {
    let Some(path) = split_path(config, split) else {
        return Ok(None);
    };
    let dataset = Dataset::load(path, &load_options(config, split))?;
    if dataset.examples.is_empty() {
        return Err(TrainError::Setup {
            key: split.key(),
            message: format!("{} holds no examples", path.display()),
        });
    }
    Ok(Some(dataset))
}

/// Loads `split`, failing with a message naming its key when the config has none.
pub fn require_split(config: &Config, split: Split) -> Result<Dataset, TrainError> {
    load_split(config, split)?.ok_or_else(|| TrainError::Setup {
        key: split.key(),
        message: "is required for this task".into(),
    })
}
