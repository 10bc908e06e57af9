//! What to keep when loading a data file (the `data` section of the config).

use crate::error::DataError;

/// Loading options, mirroring the reference's `--candidate_model`, `--candidate_decoding_method`,
/// `--using_metrics`, `--n_candidates` and `--max_*_data_size`.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadOptions {
    /// Keep only candidates whose `model` is listed. `None` or an empty list: no filter.
    pub candidate_models: Option<Vec<String>>,
    /// Then keep only candidates whose `decoding_method` is listed. `None` or an empty list: no filter.
    pub decoding_methods: Option<Vec<String>>,
    /// The metrics to keep, in this order: the order is the task index of [`ScoreMatrix`](crate::ScoreMatrix).
    /// Every kept candidate must have every one. Empty: the metrics of the first item's first kept candidate, in
    /// its written order.
    pub metrics: Vec<String>,
    /// Multiply scores by [`metric_weight`](crate::metric_weight) (the reference always does; turn off only to
    /// look at raw values).
    pub apply_metric_weights: bool,
    /// Keep the first `n` candidates after filtering. `None`: all.
    pub n_candidates: Option<usize>,
    /// Read only the first `max_size` items of the file, before any filtering; the rest is never read.
    /// `None`: all.
    pub max_size: Option<usize>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            candidate_models: None,
            decoding_methods: None,
            metrics: Vec::new(),
            apply_metric_weights: true,
            n_candidates: None,
            max_size: None,
        }
    }
}

impl LoadOptions {
    /// Options keeping `metrics` (in that order) and everything else.
    pub fn with_metrics<S: Into<String>>(metrics: impl IntoIterator<Item = S>) -> Self {
        Self {
            metrics: metrics.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Checks the values that have no meaning (`n_candidates = 0`, `max_size = 0`, a repeated metric).
    pub fn validate(&self) -> Result<(), DataError> {
        if self.n_candidates == Some(0) {
            return Err(invalid(
                "data.n_candidates",
                "0",
                "must be at least 1; leave it unset to keep every candidate",
            ));
        }
        if self.max_size == Some(0) {
            return Err(invalid(
                "data.max_size",
                "0",
                "must be at least 1; leave it unset to read every item",
            ));
        }
        for (i, metric) in self.metrics.iter().enumerate() {
            if self.metrics[..i].contains(metric) {
                return Err(invalid(
                    "data.metrics",
                    &format!("{:?}", self.metrics),
                    &format!("{metric:?} is listed twice"),
                ));
            }
        }
        Ok(())
    }

    /// The model filter, `None` when it keeps everything.
    pub(crate) fn model_filter(&self) -> Option<&[String]> {
        self.candidate_models
            .as_deref()
            .filter(|models| !models.is_empty())
    }

    /// The decoding-method filter, `None` when it keeps everything.
    pub(crate) fn method_filter(&self) -> Option<&[String]> {
        self.decoding_methods
            .as_deref()
            .filter(|methods| !methods.is_empty())
    }
}

fn invalid(key: &'static str, value: &str, reason: &str) -> DataError {
    DataError::InvalidOption {
        key,
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_weights_scores_and_keeps_everything() {
        let options = LoadOptions::default();
        assert!(options.apply_metric_weights);
        assert!(options.model_filter().is_none() && options.method_filter().is_none());
        options.validate().unwrap();
    }

    #[test]
    fn empty_filter_lists_mean_no_filter() {
        let options = LoadOptions {
            candidate_models: Some(vec![]),
            decoding_methods: Some(vec![]),
            ..Default::default()
        };
        assert!(options.model_filter().is_none() && options.method_filter().is_none());
    }

    #[test]
    fn meaningless_values_are_rejected_with_their_key() {
        let err = LoadOptions {
            n_candidates: Some(0),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert!(
            err.to_string().starts_with("data.n_candidates = 0:"),
            "{err}"
        );
        let err = LoadOptions {
            max_size: Some(0),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert!(err.to_string().starts_with("data.max_size = 0:"), "{err}");
        let err = LoadOptions::with_metrics(["bleu", "rouge1", "bleu"])
            .validate()
            .unwrap_err();
        assert!(
            err.to_string().contains(r#""bleu" is listed twice"#),
            "{err}"
        );
    }
}
