//! [`Dataset::load`]: file → filtered, weighted [`Example`]s (reference `load_data` + `Dataset.__getitem__`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use super::{metric_weight, Dataset, Example, LoadOptions, ScoreMatrix};
use crate::error::DataError;
use crate::read::{read_items, ItemLocation};
use crate::schema::{MixCandidate, MixItem};

impl Dataset {
    /// Loads a `.json` / `.jsonl` MixInstruct file, item by item, as the reference's `load_data` does:
    ///
    /// 1. only the first `max_size` items are read (head truncation, before any filtering);
    /// 2. candidates are filtered by model, then by decoding method — an item left with none is an error listing
    ///    its (model, decoding_method) pairs;
    /// 3. the first `n_candidates` survivors are kept;
    /// 4. the configured metrics are taken from each kept candidate in configured order (a missing or non-numeric
    ///    one is an error) and multiplied by their weight (a non-finite result is an error);
    /// 5. a missing id becomes the item's index.
    ///
    /// Every error names the file and the item (line for JSONL, index and id for JSON).
    pub fn load(path: &Path, options: &LoadOptions) -> Result<Self, DataError> {
        options.validate()?;
        let mut builder = Builder {
            options,
            metrics: options.metrics.clone(),
            models: HashMap::new(),
        };
        let mut examples = Vec::new();
        read_items(path, options.max_size, |at, item| {
            examples.push(builder.example(at, item)?);
            Ok(())
        })?;
        if examples.is_empty() {
            return Err(DataError::Empty {
                path: path.to_owned(),
            });
        }
        Ok(Self {
            path: path.to_owned(),
            metrics: builder.metrics,
            weighted: options.apply_metric_weights,
            examples,
        })
    }
}

struct Builder<'a> {
    options: &'a LoadOptions,
    /// The configured metrics, or (when none are) those of the first item's first kept candidate.
    metrics: Vec<String>,
    /// Interned model names, so 100k items share a handful of allocations.
    models: HashMap<String, Arc<str>>,
}

impl Builder<'_> {
    fn example(&mut self, at: ItemLocation, item: MixItem) -> Result<Example, DataError> {
        if item.candidates.is_empty() {
            return Err(DataError::NoCandidates { at: Box::new(at) });
        }
        let kept = self.kept_candidates(&at, &item.candidates)?;
        if self.metrics.is_empty() {
            self.metrics = item.candidates[kept[0]]
                .scores
                .names()
                .map(str::to_owned)
                .collect();
            if self.metrics.is_empty() {
                return Err(DataError::NoMetrics { at: Box::new(at) });
            }
        }
        let mut values = Vec::with_capacity(kept.len() * self.metrics.len());
        for &index in &kept {
            self.push_scores(&at, index, &item.candidates[index], &mut values)?;
        }
        let scores = ScoreMatrix::new(self.metrics.len(), values)
            .expect("one value per kept candidate and metric");

        let source = item.source();
        let MixItem {
            id,
            output,
            mut candidates,
            cmp_results,
            ..
        } = item;
        let mut texts = Vec::with_capacity(kept.len());
        let mut models = Vec::with_capacity(kept.len());
        for &index in &kept {
            let candidate = std::mem::take(&mut candidates[index].text);
            texts.push(candidate);
            models.push(self.intern(&candidates[index].model));
        }
        Ok(Example {
            id: id.map_or_else(|| at.index.to_string(), |id| id.to_string()),
            source,
            target: output.target().to_owned(),
            candidates: texts,
            models,
            scores,
            cmp_results,
        })
    }

    /// Indices of the candidates that pass the model and decoding-method filters, cut to `n_candidates`.
    fn kept_candidates(
        &self,
        at: &ItemLocation,
        candidates: &[MixCandidate],
    ) -> Result<Vec<usize>, DataError> {
        let models = self.options.model_filter();
        let methods = self.options.method_filter();
        let mut kept: Vec<usize> = (0..candidates.len())
            .filter(|&i| models.is_none_or(|models| models.contains(&candidates[i].model)))
            .filter(|&i| {
                methods.is_none_or(|methods| methods.contains(&candidates[i].decoding_method))
            })
            .collect();
        if kept.is_empty() {
            return Err(DataError::NoCandidatesAfterFilter {
                at: Box::new(at.clone()),
                models: models.map(<[String]>::to_vec),
                methods: methods.map(<[String]>::to_vec),
                available: candidates
                    .iter()
                    .map(|c| (c.model.clone(), c.decoding_method.clone()))
                    .collect(),
            });
        }
        if let Some(n) = self.options.n_candidates {
            kept.truncate(n);
        }
        Ok(kept)
    }

    fn push_scores(
        &self,
        at: &ItemLocation,
        index: usize,
        candidate: &MixCandidate,
        values: &mut Vec<f64>,
    ) -> Result<(), DataError> {
        for metric in &self.metrics {
            let raw = candidate
                .scores
                .get(metric)
                .ok_or_else(|| DataError::MissingMetric {
                    at: Box::new(at.clone()),
                    candidate: index,
                    model: candidate.model.clone(),
                    metric: metric.clone(),
                    available: candidate.scores.names().map(str::to_owned).collect(),
                })?;
            let number = match raw {
                Value::Number(number) => number.as_f64(),
                _ => None,
            };
            let number = number.ok_or_else(|| DataError::NonNumericScore {
                at: Box::new(at.clone()),
                candidate: index,
                model: candidate.model.clone(),
                metric: metric.clone(),
                value: raw.to_string(),
            })?;
            let weight = if self.options.apply_metric_weights {
                metric_weight(metric)
            } else {
                1.0
            };
            let Some(value) = weighted(number, weight) else {
                return Err(DataError::NonFiniteScore {
                    at: Box::new(at.clone()),
                    candidate: index,
                    model: candidate.model.clone(),
                    metric: metric.clone(),
                    value: number * weight,
                });
            };
            values.push(value);
        }
        Ok(())
    }

    fn intern(&mut self, model: &str) -> Arc<str> {
        if let Some(shared) = self.models.get(model) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = Arc::from(model);
        self.models.insert(model.to_owned(), Arc::clone(&shared));
        shared
    }
}

/// `value · weight`, or `None` when that is not finite. JSON numbers are finite and weights are at most 1, so
/// this guards against values that reach the loader by other routes.
fn weighted(value: f64, weight: f64) -> Option<f64> {
    let weighted = value * weight;
    weighted.is_finite().then_some(weighted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighting_keeps_finite_values_and_rejects_the_rest() {
        assert_eq!(weighted(20.0, 0.01), Some(0.2));
        assert_eq!(weighted(-3.5, 1.0), Some(-3.5));
        assert_eq!(weighted(f64::INFINITY, 0.01), None);
        assert_eq!(weighted(f64::NAN, 1.0), None);
    }

    #[test]
    fn model_names_are_interned() {
        let options = LoadOptions::default();
        let mut builder = Builder {
            options: &options,
            metrics: vec![],
            models: HashMap::new(),
        };
        let a = builder.intern("vicuna");
        let b = builder.intern("vicuna");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &builder.intern("koala")));
    }
}
