//! Options of the synthetic set.

use serde::{Deserialize, Serialize};

use crate::error::DataError;

/// A synthetic candidate generator: a name and a quality in `[0, 1]` (1 copies the reference).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthModel {
    /// The `model` field of its candidates; no commas (it is part of `cmp_results` keys).
    pub name: String,
    /// Probability of keeping each reference word, and the inverse of its noise.
    pub quality: f64,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthOptions {
    /// Number of items.
    pub n_items: usize,
    /// Candidates per item: one from each of the first `n_candidates` models.
    pub n_candidates: usize,
    /// The seed; the same options give the same items.
    pub seed: u64,
    /// The candidate models, in candidate order.
    pub models: Vec<SynthModel>,
    /// Fraction of items that get `cmp_results` (pairwise verdicts for every pair of models).
    pub cmp_fraction: f64,
    /// Two candidates whose mean weighted score differs by at most this much are a tie ("Same good" / "Same bad").
    pub tie_band: f64,
}

/// Default models: 11, as MixInstruct has, with qualities spread over `[0.14, 0.92]` and listed out of quality
/// order so that candidate 0 (the "top beam" baseline) is an average model.
const DEFAULT_MODELS: [(&str, f64); 11] = [
    ("helper-6b", 0.70),
    ("glitch-1b", 0.14),
    ("sage-13b", 0.92),
    ("rambler-3b", 0.54),
    ("mumbler-1b", 0.30),
    ("scholar-7b", 0.85),
    ("drifter-1b", 0.38),
    ("chatter-7b", 0.62),
    ("babbler-1b", 0.22),
    ("mentor-7b", 0.78),
    ("guesser-3b", 0.46),
];

impl Default for SynthOptions {
    fn default() -> Self {
        Self {
            n_items: 1000,
            n_candidates: DEFAULT_MODELS.len(),
            seed: 42,
            models: Self::default_models(),
            cmp_fraction: 0.5,
            tie_band: 0.02,
        }
    }
}

impl SynthOptions {
    /// The 11 default models.
    pub fn default_models() -> Vec<SynthModel> {
        DEFAULT_MODELS
            .iter()
            .map(|&(name, quality)| SynthModel {
                name: name.into(),
                quality,
            })
            .collect()
    }

    /// Checks the options; errors name the `synth.*` key.
    pub fn validate(&self) -> Result<(), DataError> {
        let invalid = |key, value: String, reason: String| {
            Err(DataError::InvalidOption { key, value, reason })
        };
        if self.n_candidates == 0 || self.n_candidates > self.models.len() {
            return invalid(
                "synth.n_candidates",
                self.n_candidates.to_string(),
                format!(
                    "must be between 1 and the number of models ({})",
                    self.models.len()
                ),
            );
        }
        for (index, model) in self.models.iter().enumerate() {
            if model.name.is_empty() || model.name.contains(',') {
                return invalid(
                    "synth.models",
                    model.name.clone(),
                    "a model name must be non-empty without commas".into(),
                );
            }
            if self.models[..index]
                .iter()
                .any(|other| other.name == model.name)
            {
                return invalid(
                    "synth.models",
                    model.name.clone(),
                    "model names must be unique".into(),
                );
            }
            if !(0.0..=1.0).contains(&model.quality) {
                return invalid(
                    "synth.models",
                    format!("{} = {}", model.name, model.quality),
                    "quality must be in [0, 1]".into(),
                );
            }
        }
        if !(0.0..=1.0).contains(&self.cmp_fraction) {
            return invalid(
                "synth.cmp_fraction",
                self.cmp_fraction.to_string(),
                "must be in [0, 1]".into(),
            );
        }
        if !(self.tie_band >= 0.0 && self.tie_band.is_finite()) {
            return invalid(
                "synth.tie_band",
                self.tie_band.to_string(),
                "must be a finite value >= 0".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        SynthOptions::default().validate().unwrap();
    }

    #[test]
    fn bad_values_name_their_key() {
        let check = |options: SynthOptions, prefix: &str| {
            let err = options.validate().unwrap_err();
            assert!(err.to_string().starts_with(prefix), "{err}");
        };
        check(
            SynthOptions {
                n_candidates: 12,
                ..Default::default()
            },
            "synth.n_candidates = 12:",
        );
        check(
            SynthOptions {
                n_candidates: 0,
                ..Default::default()
            },
            "synth.n_candidates = 0:",
        );
        let mut options = SynthOptions::default();
        options.models[1].name = "a,b".into();
        check(options, "synth.models = a,b:");
        let mut options = SynthOptions::default();
        options.models[1].name = options.models[0].name.clone();
        check(
            options,
            "synth.models = helper-6b: model names must be unique",
        );
        let mut options = SynthOptions::default();
        options.models[3].quality = 1.5;
        check(options, "synth.models = rambler-3b = 1.5:");
        check(
            SynthOptions {
                cmp_fraction: -0.1,
                ..Default::default()
            },
            "synth.cmp_fraction",
        );
        check(
            SynthOptions {
                tie_band: f64::NAN,
                ..Default::default()
            },
            "synth.tie_band",
        );
    }
}
