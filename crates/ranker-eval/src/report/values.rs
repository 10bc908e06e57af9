//! [`NamedValues`]: an ordered `{name: value}` map for the report (metric order, opponent order, k order).

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Named values in a fixed order, serialized as a JSON object in that order. Non-finite values (a gain over a
/// zero top-beam score, an undefined correlation) are written as `null` and read back as NaN.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NamedValues(pub Vec<(String, f64)>);

impl NamedValues {
    /// The value named `name`.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
    }

    /// The names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(n, _)| n.as_str())
    }

    /// The values, in order.
    pub fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.0.iter().map(|&(_, v)| v)
    }

    /// Pairs `names[i]` with `values[i]`.
    pub fn zip<S: AsRef<str>>(names: &[S], values: impl IntoIterator<Item = f64>) -> Self {
        Self(
            names
                .iter()
                .map(|n| n.as_ref().to_owned())
                .zip(values)
                .collect(),
        )
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for NamedValues {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, &value.is_finite().then_some(*value))?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for NamedValues {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor;

        impl<'de> Visitor<'de> for OrderedVisitor {
            type Value = NamedValues;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of numbers (or null)")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NamedValues, A::Error> {
                let mut values = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, Option<f64>>()? {
                    values.push((name, value.unwrap_or(f64::NAN)));
                }
                Ok(NamedValues(values))
            }
        }

        deserializer.deserialize_map(OrderedVisitor)
    }
}

/// `Option<f64>` fields that should read `null` for NaN: serialize non-finite values as `null`.
pub(crate) mod finite_or_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        if value.is_finite() {
            serializer.serialize_f64(*value)
        } else {
            serializer.serialize_none()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_writes_non_finite_as_null() {
        let values = NamedValues::zip(&["zeta", "alpha", "gain"], [1.5, 2.0, f64::INFINITY]);
        let json = serde_json::to_string(&values).unwrap();
        assert_eq!(json, r#"{"zeta":1.5,"alpha":2.0,"gain":null}"#);
        let back: NamedValues = serde_json::from_str(&json).unwrap();
        assert_eq!(back.names().collect::<Vec<_>>(), ["zeta", "alpha", "gain"]);
        assert!(back.get("gain").unwrap().is_nan());
    }
}
