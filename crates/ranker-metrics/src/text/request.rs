//! The serde shape of one `ranker score` input line:
//! `{"prediction": str, "reference": str | [str]}`.

use serde::{Deserialize, Serialize};

/// One prediction with its reference(s).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreRequest {
    /// The text to score.
    pub prediction: String,
    /// The reference or references to score it against.
    pub reference: References,
}

/// One reference or several; a JSON string or a list of strings.
///
/// An empty list deserializes, but scoring it fails with
/// [`MetricsError::NoReferences`](crate::MetricsError::NoReferences).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum References {
    /// A single reference string.
    One(String),
    /// A list of references.
    Many(Vec<String>),
}

impl References {
    /// The references as a slice.
    pub fn as_slice(&self) -> &[String] {
        match self {
            References::One(reference) => std::slice::from_ref(reference),
            References::Many(references) => references,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_string_or_a_list() {
        let one: ScoreRequest =
            serde_json::from_str(r#"{"prediction": "p", "reference": "r"}"#).unwrap();
        assert_eq!(one.reference.as_slice(), ["r"]);
        let many: ScoreRequest =
            serde_json::from_str(r#"{"prediction": "p", "reference": ["a", "b"]}"#).unwrap();
        assert_eq!(many.reference.as_slice(), ["a", "b"]);
        assert!(serde_json::from_str::<ScoreRequest>(r#"{"prediction": "p"}"#).is_err());
        assert!(
            serde_json::from_str::<ScoreRequest>(r#"{"prediction": "p", "reference": 3}"#).is_err()
        );
    }
}
