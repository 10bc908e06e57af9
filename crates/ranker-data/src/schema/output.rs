//! The reference `output`: a string, or a list of strings whose first element is the target.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// An item's reference `output`, kept in its written form. [`Output::target`] is what training uses.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Output {
    /// `"output": "text"`.
    Text(String),
    /// `"output": ["text", ...]`; never empty when deserialized.
    List(Vec<String>),
}

impl Output {
    /// The training target: the text, or the first element of the list (as the reference does).
    pub fn target(&self) -> &str {
        match self {
            Self::Text(text) => text,
            Self::List(list) => list.first().map_or("", String::as_str),
        }
    }
}

impl<'de> Deserialize<'de> for Output {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OutputVisitor;

        impl<'de> Visitor<'de> for OutputVisitor {
            type Value = Output;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a non-empty list of strings")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Output, E> {
                Ok(Output::Text(value.to_owned()))
            }

            fn visit_string<E: de::Error>(self, value: String) -> Result<Output, E> {
                Ok(Output::Text(value))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Output, A::Error> {
                let mut list = Vec::new();
                while let Some(text) = seq.next_element::<String>()? {
                    list.push(text);
                }
                if list.is_empty() {
                    return Err(de::Error::custom(
                        "`output` is an empty list; it needs at least the target text",
                    ));
                }
                Ok(Output::List(list))
            }
        }

        deserializer.deserialize_any(OutputVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_and_list_forms_give_the_target() {
        let text: Output = serde_json::from_str(r#""the answer""#).unwrap();
        assert_eq!(text.target(), "the answer");
        let list: Output = serde_json::from_str(r#"["first", "second"]"#).unwrap();
        assert_eq!(list.target(), "first");
        assert_eq!(
            serde_json::to_string(&list).unwrap(),
            r#"["first","second"]"#
        );
    }

    #[test]
    fn empty_list_and_non_strings_are_errors() {
        let err = serde_json::from_str::<Output>("[]").unwrap_err();
        assert!(err.to_string().contains("empty list"), "{err}");
        assert!(serde_json::from_str::<Output>("[1]").is_err());
        assert!(serde_json::from_str::<Output>("3").is_err());
    }
}
