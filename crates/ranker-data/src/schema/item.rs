//! One MixInstruct item and its candidates.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{CmpField, ItemId, Output, ScoreMap};

/// One MixInstruct item (HF `llm-blender/mix-instruct` layout).
///
/// Fields this crate does not know are kept in [`MixItem::extra`], so reading and rewriting a file (as
/// `ranker data score` does) keeps them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixItem {
    /// `"unified_chip2/69962"`-style id; the loader uses the item's index when it is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<ItemId>,
    /// The instruction; may be absent (read as `""`).
    #[serde(default)]
    pub instruction: String,
    /// The input text.
    pub input: String,
    /// The reference output.
    pub output: Output,
    /// The candidate generations; absent reads as empty (which the loader rejects).
    #[serde(default)]
    pub candidates: Vec<MixCandidate>,
    /// ChatGPT pairwise verdicts (MixInstruct test split), given as an object or as a JSON string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmp_results: Option<CmpField>,
    /// Every other field of the item, kept as written.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl MixItem {
    /// The ranker's source text: `instruction + input`, concatenated with no separator (as the reference does).
    pub fn source(&self) -> String {
        let mut source = String::with_capacity(self.instruction.len() + self.input.len());
        source.push_str(&self.instruction);
        source.push_str(&self.input);
        source
    }
}

/// One candidate generation of a [`MixItem`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixCandidate {
    /// The model that generated it, e.g. `"vicuna-13b-1.1"`.
    pub model: String,
    /// The decoding method, e.g. `"top_p_sampling"`.
    pub decoding_method: String,
    /// The generated text.
    pub text: String,
    /// Metric scores against the reference, in written order; absent reads as empty.
    #[serde(default)]
    pub scores: ScoreMap,
    /// Every other field of the candidate, kept as written.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITEM: &str = r#"{
        "id": "dolly/1", "input": "Name a fruit.", "output": ["Apple.", "Pear."],
        "source_dataset": "dolly_15k",
        "candidates": [{"model": "m1", "decoding_method": "top_p_sampling", "text": "Apple",
                        "scores": {"bleu": 12.5, "rouge1": 1.0}, "gen_len": 3}]
    }"#;

    #[test]
    fn reads_a_minimal_item_with_unknown_fields() {
        let item: MixItem = serde_json::from_str(ITEM).unwrap();
        assert_eq!(item.id, Some(ItemId::Text("dolly/1".into())));
        assert_eq!(item.instruction, "");
        assert_eq!(item.source(), "Name a fruit.");
        assert_eq!(item.output.target(), "Apple.");
        assert_eq!(item.extra["source_dataset"], "dolly_15k");
        assert_eq!(item.candidates[0].extra["gen_len"], 3);
        assert!(item.cmp_results.is_none());
    }

    #[test]
    fn round_trips_unknown_fields() {
        let item: MixItem = serde_json::from_str(ITEM).unwrap();
        let again: MixItem = serde_json::from_str(&serde_json::to_string(&item).unwrap()).unwrap();
        assert_eq!(again, item);
        let value = serde_json::to_value(&item).unwrap();
        assert_eq!(value["candidates"][0]["gen_len"], 3);
        assert_eq!(value["source_dataset"], "dolly_15k");
    }

    #[test]
    fn source_concatenates_without_separator() {
        let mut item: MixItem = serde_json::from_str(ITEM).unwrap();
        item.instruction = "Answer briefly.".into();
        assert_eq!(item.source(), "Answer briefly.Name a fruit.");
    }

    #[test]
    fn missing_text_is_an_error() {
        let broken = ITEM.replace(r#""text": "Apple","#, "");
        let err = serde_json::from_str::<MixItem>(&broken).unwrap_err();
        assert!(err.to_string().contains("missing field `text`"), "{err}");
    }
}
