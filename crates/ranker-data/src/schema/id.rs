//! Item ids: strings in MixInstruct (`"unified_chip2/69962"`), integers in some exports.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// An item's `id`, kept in the form it was written in so that rewriting a file does not change it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemId {
    /// A JSON string id.
    Text(String),
    /// A JSON integer id.
    Integer(i128),
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(text) => f.write_str(text),
            Self::Integer(number) => write!(f, "{number}"),
        }
    }
}

impl Serialize for ItemId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Text(text) => serializer.serialize_str(text),
            Self::Integer(number) => serializer.serialize_i128(*number),
        }
    }
}

impl<'de> Deserialize<'de> for ItemId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;

        impl Visitor<'_> for IdVisitor {
            type Value = ItemId;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or integer id")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<ItemId, E> {
                Ok(ItemId::Text(value.to_owned()))
            }

            fn visit_string<E: de::Error>(self, value: String) -> Result<ItemId, E> {
                Ok(ItemId::Text(value))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<ItemId, E> {
                Ok(ItemId::Integer(value.into()))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<ItemId, E> {
                Ok(ItemId::Integer(value.into()))
            }
        }

        deserializer.deserialize_any(IdVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_strings_and_integers_and_round_trips_them() {
        let text: ItemId = serde_json::from_str(r#""dolly/7""#).unwrap();
        assert_eq!(text, ItemId::Text("dolly/7".into()));
        assert_eq!(serde_json::to_string(&text).unwrap(), r#""dolly/7""#);
        let number: ItemId = serde_json::from_str("42").unwrap();
        assert_eq!(number.to_string(), "42");
        assert_eq!(serde_json::to_string(&number).unwrap(), "42");
        let negative: ItemId = serde_json::from_str("-3").unwrap();
        assert_eq!(negative, ItemId::Integer(-3));
    }

    #[test]
    fn rejects_floats_and_objects() {
        assert!(serde_json::from_str::<ItemId>("1.5").is_err());
        assert!(serde_json::from_str::<ItemId>("{}").is_err());
    }
}
