//! A candidate's `scores` object, kept in written order.

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

/// A candidate's `scores` (`{"bleu": 5.66, "rouge1": 0.286, ...}`) in the order the file lists them.
///
/// Values stay raw JSON so that rewriting a file keeps them exactly (integers stay integers, odd values such as
/// `null` survive); the loader checks the metrics it is asked for and turns them into `f64`. A repeated key keeps
/// its first position and its last value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreMap {
    entries: Vec<(String, Value)>,
}

impl ScoreMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The raw value of metric `name`, if present.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.entries
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// Sets metric `name` to `value`, in place when present, else appended. A non-finite `value` is stored as
    /// `null` (JSON has no NaN), which the loader then rejects as non-numeric.
    pub fn insert(&mut self, name: &str, value: f64) {
        let value = serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number);
        self.insert_raw(name.to_owned(), value);
    }

    fn insert_raw(&mut self, name: String, value: Value) {
        match self.entries.iter_mut().find(|(key, _)| *key == name) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((name, value)),
        }
    }

    /// Metric names in written order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(key, _)| key.as_str())
    }

    /// `(name, raw value)` pairs in written order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries
            .iter()
            .map(|(key, value)| (key.as_str(), value))
    }

    /// Number of metrics.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no metrics.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Serialize for ScoreMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (key, value) in &self.entries {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ScoreMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScoreMapVisitor;

        impl<'de> Visitor<'de> for ScoreMapVisitor {
            type Value = ScoreMap;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of metric name to score")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<ScoreMap, A::Error> {
                let mut scores = ScoreMap::new();
                while let Some((key, value)) = access.next_entry::<String, Value>()? {
                    scores.insert_raw(key, value);
                }
                Ok(scores)
            }
        }

        deserializer.deserialize_map(ScoreMapVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_written_order_not_alphabetical() {
        let scores: ScoreMap =
            serde_json::from_str(r#"{"rougeL": 0.2, "bleu": 5, "bartscore": -3.1}"#).unwrap();
        assert_eq!(
            scores.names().collect::<Vec<_>>(),
            ["rougeL", "bleu", "bartscore"]
        );
        assert_eq!(
            serde_json::to_string(&scores).unwrap(),
            r#"{"rougeL":0.2,"bleu":5,"bartscore":-3.1}"#
        );
    }

    #[test]
    fn insert_replaces_in_place_or_appends() {
        let mut scores: ScoreMap = serde_json::from_str(r#"{"a": 1, "b": 2}"#).unwrap();
        scores.insert("a", 0.5);
        scores.insert("c", 3.0);
        assert_eq!(
            serde_json::to_string(&scores).unwrap(),
            r#"{"a":0.5,"b":2,"c":3.0}"#
        );
        scores.insert("b", f64::NAN);
        assert_eq!(scores.get("b"), Some(&Value::Null));
    }

    #[test]
    fn repeated_key_keeps_first_position_and_last_value() {
        let scores: ScoreMap = serde_json::from_str(r#"{"a": 1, "b": 2, "a": 3}"#).unwrap();
        assert_eq!(serde_json::to_string(&scores).unwrap(), r#"{"a":3,"b":2}"#);
    }
}
