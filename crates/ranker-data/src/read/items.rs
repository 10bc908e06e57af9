//! Format detection and the one entry point over both formats.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use serde::Deserialize;

use crate::error::DataError;
use crate::read::{json, jsonl, ItemLocation};
use crate::schema::{ItemId, MixItem};

/// Read buffer size: large enough that a 100k-item file is read in few syscalls.
const READ_BUFFER_BYTES: usize = 1 << 20;

/// The on-disk layout of a data file, chosen by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    /// `.json`: one top-level array of items.
    JsonArray,
    /// `.jsonl`: one item per line; blank lines are skipped.
    JsonLines,
}

impl DataFormat {
    /// The format of `path` by extension (`.json` or `.jsonl`, any case).
    pub fn from_path(path: &Path) -> Result<Self, DataError> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("json") => Ok(Self::JsonArray),
            Some("jsonl") => Ok(Self::JsonLines),
            _ => Err(DataError::UnknownFormat {
                path: path.to_owned(),
            }),
        }
    }
}

/// Streams the items of a `.json` or `.jsonl` file into `on_item`, in file order, holding one item at a time.
///
/// Stops reading after `max_items` items (the rest of the file is not read or checked). Returns the number of
/// items passed to `on_item`. The first error — malformed JSON, an item that does not fit [`MixItem`], or one
/// returned by `on_item` — ends the read.
pub fn read_items<F>(
    path: &Path,
    max_items: Option<usize>,
    mut on_item: F,
) -> Result<usize, DataError>
where
    F: FnMut(ItemLocation, MixItem) -> Result<(), DataError>,
{
    let format = DataFormat::from_path(path)?;
    let file = File::open(path).map_err(|source| DataError::Read {
        path: path.to_owned(),
        source,
    })?;
    let reader = BufReader::with_capacity(READ_BUFFER_BYTES, file);
    match format {
        DataFormat::JsonArray => json::read_array(path, reader, max_items, &mut on_item),
        DataFormat::JsonLines => jsonl::read_lines(path, reader, max_items, &mut on_item),
    }
}

/// Reads just the `id` of an item that failed to parse, so its error message can name it.
pub(super) fn probe_id<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Option<String> {
    #[derive(Deserialize)]
    struct IdProbe {
        #[serde(default)]
        id: Option<ItemId>,
    }
    IdProbe::deserialize(deserializer)
        .ok()?
        .id
        .map(|id| id.to_string())
}

/// The Python-style non-finite literal (`NaN`, `Infinity`, `-Infinity`) at 1-based `column` of `line`, where
/// serde_json reports a syntax error on it.
pub(super) fn non_finite_literal(line: &str, column: usize) -> Option<&'static str> {
    let at = column.checked_sub(1)?;
    let rest = line.get(at..)?;
    let negative = at > 0 && line.as_bytes()[at - 1] == b'-';
    if rest.starts_with("NaN") {
        Some("NaN")
    } else if rest.starts_with("-Infinity") {
        Some("-Infinity")
    } else if rest.starts_with("Infinity") {
        Some(if negative { "-Infinity" } else { "Infinity" })
    } else {
        None
    }
}

/// A syntax error at `line`:`column` of `path`, or [`DataError::NonFiniteLiteral`] when `line_text` (the text of
/// that line, when the caller has it) shows a `NaN`/`Infinity` there.
pub(super) fn syntax_error(
    path: &Path,
    line: usize,
    column: usize,
    index: usize,
    line_text: Option<&str>,
    source: serde_json::Error,
) -> DataError {
    match line_text.and_then(|text| non_finite_literal(text, column)) {
        Some(literal) => DataError::NonFiniteLiteral {
            path: path.to_owned(),
            line,
            column,
            literal,
            source,
        },
        None => DataError::Syntax {
            path: path.to_owned(),
            line,
            column,
            index,
            source,
        },
    }
}

/// Turns a typed-deserialization failure into [`DataError::Schema`] at `at`.
pub(super) fn schema_error(
    at: ItemLocation,
    error: serde_path_to_error::Error<serde_json::Error>,
) -> DataError {
    let key_path = error.path().to_string();
    DataError::Schema {
        at: Box::new(at),
        key_path,
        source: error.into_inner(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_python_non_finite_literals_where_serde_stops() {
        for (text, column, expected) in [
            (r#"{"bleu": NaN}"#, 10, Some("NaN")),
            (r#"{"bleu": Infinity}"#, 10, Some("Infinity")),
            (r#"{"bleu": -Infinity}"#, 11, Some("-Infinity")),
            (r#"{"bleu": -Infinity}"#, 10, Some("-Infinity")),
            (r#"{"bleu": nope}"#, 10, None),
            (r#"{"bleu": NaN}"#, 0, None),
            (r#"{"bleu": NaN}"#, 99, None),
        ] {
            assert_eq!(
                non_finite_literal(text, column),
                expected,
                "{text} @ {column}"
            );
        }
    }

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(
            DataFormat::from_path(Path::new("a/b.json")).unwrap(),
            DataFormat::JsonArray
        );
        assert_eq!(
            DataFormat::from_path(Path::new("b.JSONL")).unwrap(),
            DataFormat::JsonLines
        );
        let err = DataFormat::from_path(Path::new("b.csv")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "b.csv: unknown data format (expected a .json array or a .jsonl file)"
        );
    }
}
