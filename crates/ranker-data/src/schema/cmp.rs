//! `cmp_results`: ChatGPT pairwise verdicts, `{"modelA,modelB": "A is better" | ...}`.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

/// The four verdicts of the MixInstruct ChatGPT comparison prompt, as written in `cmp_results`.
pub const VERDICTS: [&str; 4] = ["A is better", "B is better", "Same good", "Same bad"];

/// An item's `cmp_results`: `"modelA,modelB"` → verdict, in written order, with every verdict one of
/// [`VERDICTS`].
///
/// The HF dataset stores the field as a JSON *string* holding the object; other exports store the object itself.
/// Both read the same; [`CmpField::encoded_as_string`] remembers the form so a rewritten file keeps it. An empty
/// string reads as an empty map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CmpField {
    /// `(pair key, verdict)` in written order; the key is `"<model A>,<model B>"`.
    pub entries: Vec<(String, String)>,
    /// Whether the field was (and will be written as) a JSON string rather than an object.
    pub encoded_as_string: bool,
}

impl CmpField {
    /// The verdict for the pair key `"modelA,modelB"` exactly as written (not the swapped key).
    pub fn get(&self, pair: &str) -> Option<&str> {
        self.entries.iter().find(|(key, _)| key == pair).map(|(_, verdict)| verdict.as_str())
    }
}

fn check_verdict<E: de::Error>(pair: &str, verdict: &str) -> Result<(), E> {
    if VERDICTS.contains(&verdict) {
        Ok(())
    } else {
        Err(E::custom(format!("cmp_results[{pair:?}] = {verdict:?} is not a verdict; expected one of {VERDICTS:?}")))
    }
}

impl Serialize for CmpField {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.encoded_as_string {
            let object = CmpField { entries: self.entries.clone(), encoded_as_string: false };
            let text = serde_json::to_string(&object).map_err(serde::ser::Error::custom)?;
            return serializer.serialize_str(&text);
        }
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (pair, verdict) in &self.entries {
            map.serialize_entry(pair, verdict)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for CmpField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CmpVisitor;

        impl<'de> Visitor<'de> for CmpVisitor {
            type Value = CmpField;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of \"modelA,modelB\" to verdict, or a JSON string holding one")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<CmpField, E> {
                if text.trim().is_empty() {
                    return Ok(CmpField { entries: Vec::new(), encoded_as_string: true });
                }
                let mut deserializer = serde_json::Deserializer::from_str(text);
                let mut field = deserializer
                    .deserialize_map(CmpVisitor)
                    .and_then(|field| deserializer.end().map(|()| field))
                    .map_err(|e| E::custom(format!("cmp_results string is not a JSON object of verdicts: {e}")))?;
                field.encoded_as_string = true;
                Ok(field)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<CmpField, A::Error> {
                let mut entries = Vec::new();
                while let Some((pair, verdict)) = access.next_entry::<String, String>()? {
                    check_verdict(&pair, &verdict)?;
                    entries.push((pair, verdict));
                }
                Ok(CmpField { entries, encoded_as_string: false })
            }
        }

        deserializer.deserialize_any(CmpVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_and_string_forms_read_the_same_and_round_trip() {
        let object: CmpField =
            serde_json::from_str(r#"{"m1,m2": "A is better", "m2,m3": "Same bad"}"#).unwrap();
        let string: CmpField =
            serde_json::from_str(r#""{\"m1,m2\": \"A is better\", \"m2,m3\": \"Same bad\"}""#).unwrap();
        assert_eq!(object.entries, string.entries);
        assert!(!object.encoded_as_string && string.encoded_as_string);
        assert_eq!(object.get("m2,m3"), Some("Same bad"));
        assert_eq!(object.get("m3,m2"), None);
        assert_eq!(serde_json::to_string(&object).unwrap(), r#"{"m1,m2":"A is better","m2,m3":"Same bad"}"#);
        let again: CmpField = serde_json::from_str(&serde_json::to_string(&string).unwrap()).unwrap();
        assert_eq!(again, string);
    }

    #[test]
    fn empty_string_is_an_empty_map() {
        let field: CmpField = serde_json::from_str(r#""""#).unwrap();
        assert!(field.entries.is_empty());
    }

    #[test]
    fn unknown_verdicts_and_bad_strings_are_errors() {
        let err = serde_json::from_str::<CmpField>(r#"{"a,b": "A wins"}"#).unwrap_err();
        assert!(err.to_string().contains(r#"cmp_results["a,b"] = "A wins" is not a verdict"#), "{err}");
        let err = serde_json::from_str::<CmpField>(r#""{\"a,b\": \"Same meh\"}""#).unwrap_err();
        assert!(err.to_string().contains("Same meh"), "{err}");
        let err = serde_json::from_str::<CmpField>(r#""not json""#).unwrap_err();
        assert!(err.to_string().contains("not a JSON object"), "{err}");
        assert!(serde_json::from_str::<CmpField>("[1]").is_err());
    }
}
