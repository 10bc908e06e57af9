//! The sub-sampling mode names (`model.sampling.mode` in configs, `--sub_sampling_mode` in the reference).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::DataError;

/// How PairRanker picks candidate pairs per example
/// (`CrossCompareReranker.sampling`, <https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/ranker.py>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairMode {
    /// `min(num_pos, num_neg)` distinct random pairs out of all C(u, 2) (the paper's setting, 5 per example).
    AllPair,
    /// The i-th best paired with the (k−i)-th worst, k = `min(num_pos, num_neg)`.
    TopBottom,
    /// Adjacent pairs of the score-sorted list taken with stride `int(u / (u·ratio))`.
    Uniform,
    /// `max(int(u·ratio), 1)` random (left, right) pairs, drawn with replacement.
    Random,
}

/// How SummaReranker / SimCLS pick the candidates of each example
/// (`sub_sampling`, <https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/ranker.py>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CandidateMode {
    /// The `num_pos` best and `num_neg` worst distinct-score candidates, shuffled (SummaReranker's setting).
    TopBottom,
    /// The `num_pos` best and `num_neg` random others.
    TopRandom,
    /// `num_pos` random non-bottom candidates and the `num_neg` worst.
    RandomBottom,
    /// Every `int(n / (n·ratio))`-th of the score-sorted list, in one random order shared by the batch (SimCLS's
    /// setting).
    Uniform,
    /// `max(int(n·ratio), 1)` random distinct candidates.
    Random,
    /// Every candidate, in order.
    None,
}

impl PairMode {
    const NAMES: [(Self, &'static str); 4] = [
        (Self::AllPair, "all_pair"),
        (Self::TopBottom, "top_bottom"),
        (Self::Uniform, "uniform"),
        (Self::Random, "random"),
    ];
}

impl CandidateMode {
    const NAMES: [(Self, &'static str); 6] = [
        (Self::TopBottom, "top_bottom"),
        (Self::TopRandom, "top_random"),
        (Self::RandomBottom, "random_bottom"),
        (Self::Uniform, "uniform"),
        (Self::Random, "random"),
        (Self::None, "none"),
    ];
}

macro_rules! named_mode {
    ($mode:ty) => {
        impl fmt::Display for $mode {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let name = Self::NAMES
                    .iter()
                    .find(|(mode, _)| mode == self)
                    .map(|(_, name)| *name);
                f.write_str(name.expect("every mode is named"))
            }
        }

        impl FromStr for $mode {
            type Err = DataError;

            fn from_str(name: &str) -> Result<Self, DataError> {
                Self::NAMES
                    .iter()
                    .find(|(_, known)| *known == name)
                    .map(|(mode, _)| *mode)
                    .ok_or_else(|| DataError::InvalidOption {
                        key: "sampling.mode",
                        value: name.to_owned(),
                        reason: format!(
                            "unknown mode; expected one of {:?}",
                            Self::NAMES
                                .iter()
                                .map(|(_, name)| *name)
                                .collect::<Vec<_>>()
                        ),
                    })
            }
        }
    };
}

named_mode!(PairMode);
named_mode!(CandidateMode);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_reference_and_serde() {
        for (mode, name) in PairMode::NAMES {
            assert_eq!(mode.to_string(), name);
            assert_eq!(name.parse::<PairMode>().unwrap(), mode);
            assert_eq!(serde_json::to_string(&mode).unwrap(), format!("\"{name}\""));
        }
        for (mode, name) in CandidateMode::NAMES {
            assert_eq!(mode.to_string(), name);
            assert_eq!(name.parse::<CandidateMode>().unwrap(), mode);
            assert_eq!(
                serde_json::from_str::<CandidateMode>(&format!("\"{name}\"")).unwrap(),
                mode
            );
        }
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let err = "pairs".parse::<PairMode>().unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"sampling.mode = pairs: unknown mode; expected one of ["all_pair", "top_bottom", "uniform", "random"]"#
        );
        assert!("all_pair".parse::<CandidateMode>().is_err());
    }
}
