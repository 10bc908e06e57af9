//! `cmp_results`: ChatGPT pairwise verdicts, `{"modelA,modelB": "A is better" | ...}`.

use std::fmt;

use ranker_metrics::CmpResults;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// An item's `cmp_results`, typed as [`CmpResults`] (keys `"modelA,modelB"`, the four verdicts of the
/// MixInstruct comparison prompt).
///
/// The HF dataset stores the field as a JSON *string* holding the object; other exports store the object itself.
/// Both read the same and are written back in the form they were read in: a string exactly as it was, an object
/// with its keys sorted. An empty string reads as no verdicts.
#[derive(Debug, Clone, Default)]
pub struct CmpField {
    results: CmpResults,
    encoded_as_string: bool,
    /// The string as read, written back unchanged.
    original: Option<String>,
}

impl CmpField {
    /// Verdicts to be written as a JSON object.
    pub fn object(results: CmpResults) -> Self {
        Self {
            results,
            encoded_as_string: false,
            original: None,
        }
    }

    /// Verdicts to be written as a JSON string holding the object (the HF dataset's form).
    pub fn json_string(results: CmpResults) -> Self {
        Self {
            results,
            encoded_as_string: true,
            original: None,
        }
    }

    /// The verdicts.
    pub fn results(&self) -> &CmpResults {
        &self.results
    }

    /// The verdicts, by value.
    pub fn into_results(self) -> CmpResults {
        self.results
    }

    /// Whether the field is a JSON string rather than an object.
    pub fn encoded_as_string(&self) -> bool {
        self.encoded_as_string
    }
}

impl PartialEq for CmpField {
    /// Same verdicts in the same form (the original string's spacing does not matter).
    fn eq(&self, other: &Self) -> bool {
        self.results == other.results && self.encoded_as_string == other.encoded_as_string
    }
}

impl Eq for CmpField {}

impl Serialize for CmpField {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match (&self.original, self.encoded_as_string) {
            (Some(original), _) => serializer.serialize_str(original),
            (None, true) => {
                let text =
                    serde_json::to_string(&self.results).map_err(serde::ser::Error::custom)?;
                serializer.serialize_str(&text)
            }
            (None, false) => self.results.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for CmpField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CmpVisitor;

        impl<'de> Visitor<'de> for CmpVisitor {
            type Value = CmpField;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "an object of \"modelA,modelB\" to verdict, or a JSON string holding one",
                )
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<CmpField, E> {
                let results = if text.trim().is_empty() {
                    CmpResults::new()
                } else {
                    serde_json::from_str(text).map_err(|e| {
                        E::custom(format!(
                            "cmp_results string is not a JSON object of verdicts: {e}"
                        ))
                    })?
                };
                Ok(CmpField {
                    results,
                    encoded_as_string: true,
                    original: Some(text.to_owned()),
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<CmpField, A::Error> {
                let results = CmpResults::deserialize(MapAccessDeserializer::new(access))?;
                Ok(CmpField::object(results))
            }
        }

        deserializer.deserialize_any(CmpVisitor)
    }
}

#[cfg(test)]
mod tests {
    use ranker_metrics::Verdict;

    use super::*;

    #[test]
    fn object_and_string_forms_read_the_same_and_round_trip() {
        let object: CmpField =
            serde_json::from_str(r#"{"m2,m3": "Same bad", "m1,m2": "A is better"}"#).unwrap();
        let string: CmpField =
            serde_json::from_str(r#""{\"m2,m3\": \"Same bad\", \"m1,m2\": \"A is better\"}""#)
                .unwrap();
        assert_eq!(object.results(), string.results());
        assert!(!object.encoded_as_string() && string.encoded_as_string());
        assert_eq!(object.results().get("m2", "m3"), Some(Verdict::SameBad));
        assert_eq!(object.results().get("m1", "m2"), Some(Verdict::ABetter));
        assert_eq!(
            serde_json::to_string(&object).unwrap(),
            r#"{"m1,m2":"A is better","m2,m3":"Same bad"}"#
        );
        // The string form is written back exactly as read.
        assert_eq!(
            serde_json::to_string(&string).unwrap(),
            r#""{\"m2,m3\": \"Same bad\", \"m1,m2\": \"A is better\"}""#
        );
        let again: CmpField =
            serde_json::from_str(&serde_json::to_string(&string).unwrap()).unwrap();
        assert_eq!(again, string);
        let built = CmpField::json_string(object.results().clone());
        assert_eq!(built, string);
        assert_eq!(
            serde_json::to_string(&built).unwrap(),
            r#""{\"m1,m2\":\"A is better\",\"m2,m3\":\"Same bad\"}""#
        );
    }

    #[test]
    fn empty_string_is_no_verdicts() {
        let field: CmpField = serde_json::from_str(r#""""#).unwrap();
        assert!(field.results().is_empty());
    }

    #[test]
    fn unknown_verdicts_bad_keys_and_bad_strings_are_errors() {
        let err = serde_json::from_str::<CmpField>(r#"{"a,b": "A wins"}"#).unwrap_err();
        assert!(
            err.to_string()
                .contains("cmp_results key 'a,b': unknown verdict 'A wins'"),
            "{err}"
        );
        let err = serde_json::from_str::<CmpField>(r#""{\"a,b\": \"Same meh\"}""#).unwrap_err();
        assert!(err.to_string().contains("Same meh"), "{err}");
        let err = serde_json::from_str::<CmpField>(r#"{"ab": "Same good"}"#).unwrap_err();
        assert!(
            err.to_string().contains(r#"expected "modelA,modelB""#),
            "{err}"
        );
        let err = serde_json::from_str::<CmpField>(r#""not json""#).unwrap_err();
        assert!(err.to_string().contains("not a JSON object"), "{err}");
        assert!(serde_json::from_str::<CmpField>("[1]").is_err());
    }
}
