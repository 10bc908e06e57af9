//! `.json`: a top-level array of items, streamed element by element.
//!
//! The array is walked by a serde visitor over the buffered file reader, so only one element is in memory at a
//! time and reading stops as soon as `max_items` elements are seen. Elements are typed directly from the stream
//! (no intermediate `serde_json::Value`, whose maps would lose the written order of `scores`), so every error
//! carries the file's line and column; when an element does not fit the schema, the file is read once more up
//! to that element to find its `id` for the message.

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::error::Category;

use super::items::syntax_error;
use crate::error::DataError;
use crate::read::ItemLocation;
use crate::schema::{ItemId, MixItem};

/// The marker error that unwinds serde once reading must stop (`max_items` reached, or `on_item` failed).
const STOP: &str = "ranker-data: stop reading";

struct ArrayState<'a, F> {
    path: &'a Path,
    max_items: Option<usize>,
    on_item: &'a mut F,
    count: usize,
    /// Where inside the current element deserialization failed.
    failed_at: Option<serde_path_to_error::Path>,
    /// Set when reading stopped on purpose; holds the callback's error if it failed.
    stopped: Option<Result<(), DataError>>,
}

/// Deserializes one element as a [`MixItem`], remembering the key path of a failure.
struct ItemSeed<'s>(&'s mut Option<serde_path_to_error::Path>);

impl<'de> DeserializeSeed<'de> for ItemSeed<'_> {
    type Value = MixItem;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<MixItem, D::Error> {
        let mut track = serde_path_to_error::Track::new();
        let item = MixItem::deserialize(serde_path_to_error::Deserializer::new(
            deserializer,
            &mut track,
        ));
        if item.is_err() {
            *self.0 = Some(track.path());
        }
        item
    }
}

struct ArrayVisitor<'s, 'a, F>(&'s mut ArrayState<'a, F>);

impl<'de, F> Visitor<'de> for ArrayVisitor<'_, '_, F>
where
    F: FnMut(ItemLocation, MixItem) -> Result<(), DataError>,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a top-level JSON array of MixInstruct items")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let state = self.0;
        loop {
            if state.max_items.is_some_and(|max| state.count >= max) {
                state.stopped = Some(Ok(()));
                return Err(de::Error::custom(STOP));
            }
            let Some(item) = seq.next_element_seed(ItemSeed(&mut state.failed_at))? else {
                return Ok(());
            };
            let id = item.id.as_ref().map(ToString::to_string);
            let at = ItemLocation {
                path: state.path.to_owned(),
                line: None,
                index: state.count,
                id,
            };
            state.count += 1;
            if let Err(error) = (state.on_item)(at, item) {
                state.stopped = Some(Err(error));
                return Err(de::Error::custom(STOP));
            }
        }
    }
}

pub(super) fn read_array<R, F>(
    path: &Path,
    reader: R,
    max_items: Option<usize>,
    on_item: &mut F,
) -> Result<usize, DataError>
where
    R: Read,
    F: FnMut(ItemLocation, MixItem) -> Result<(), DataError>,
{
    let mut state = ArrayState {
        path,
        max_items,
        on_item,
        count: 0,
        failed_at: None,
        stopped: None,
    };
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    let walked = deserializer.deserialize_seq(ArrayVisitor(&mut state));
    match state.stopped.take() {
        Some(Ok(())) => return Ok(state.count),
        Some(Err(error)) => return Err(error),
        None => {}
    }
    let index = state.count;
    walked.and_then(|()| deserializer.end()).map_err(|source| {
        let (line, column) = (source.line(), source.column());
        match (source.classify(), state.failed_at.take()) {
            (Category::Io, _) => DataError::Read {
                path: path.to_owned(),
                source: source.into(),
            },
            (Category::Data, Some(key_path)) => {
                let at = ItemLocation {
                    path: path.to_owned(),
                    line: Some(line),
                    index,
                    id: probe_id_at(path, index),
                };
                DataError::Schema {
                    at: Box::new(at),
                    key_path: key_path.to_string(),
                    source,
                }
            }
            (Category::Syntax | Category::Eof | Category::Data, _) => syntax_error(
                path,
                line,
                column,
                index,
                line_prefix(path, line, column).as_deref(),
                source,
            ),
        }
    })?;
    Ok(state.count)
}

/// The `id` of element `index` of the array in `path`, read again for an error message (only the error path
/// pays for this); `None` when it cannot be read.
fn probe_id_at(path: &Path, index: usize) -> Option<String> {
    struct ProbeVisitor<'a> {
        index: usize,
        id: &'a mut Option<String>,
    }

    impl<'de> Visitor<'de> for ProbeVisitor<'_> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            for _ in 0..self.index {
                seq.next_element::<IgnoredAny>()?;
            }
            #[derive(Deserialize)]
            struct IdProbe {
                #[serde(default)]
                id: Option<ItemId>,
            }
            let probe = seq.next_element::<IdProbe>()?;
            *self.id = probe.and_then(|probe| probe.id).map(|id| id.to_string());
            Err(de::Error::custom(STOP))
        }
    }

    let file = File::open(path).ok()?;
    let mut id = None;
    let mut deserializer = serde_json::Deserializer::from_reader(BufReader::new(file));
    let _ = deserializer.deserialize_seq(ProbeVisitor { index, id: &mut id });
    id
}

/// The start of line `line` (1-based) of `path` up to a little past `column`, re-read for an error message;
/// `None` when it cannot be read. Only the error path pays for this, and never more than the text before the
/// error (a whole array may sit on one line).
fn line_prefix(path: &Path, line: usize, column: usize) -> Option<String> {
    let mut bytes = BufReader::new(File::open(path).ok()?).bytes();
    for _ in 1..line {
        while bytes.next()?.ok()? != b'\n' {}
    }
    let prefix: Vec<u8> = bytes
        .take(column + 16)
        .map_while(Result::ok)
        .take_while(|&b| b != b'\n')
        .collect();
    Some(String::from_utf8_lossy(&prefix).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, max: Option<usize>) -> Result<Vec<(ItemLocation, MixItem)>, DataError> {
        let mut items = Vec::new();
        read_array(
            Path::new("t.json"),
            text.as_bytes(),
            max,
            &mut |at, item| {
                items.push((at, item));
                Ok(())
            },
        )?;
        Ok(items)
    }

    const A: &str = r#"{"id": "a", "input": "x", "output": "y", "candidates": []}"#;
    const B: &str = r#"{"input": "x", "output": "y", "candidates": []}"#;

    #[test]
    fn reads_every_element_in_order() {
        let items = read(&format!("[\n{A},\n{B}\n]\n"), None).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].0.to_string(), r#"t.json: item 0 (id "a")"#);
        assert_eq!(items[1].0.to_string(), "t.json: item 1");
        assert!(read("[]", None).unwrap().is_empty());
    }

    #[test]
    fn stops_at_max_items_before_reading_the_rest() {
        let items = read(&format!("[{A}, {B}, this is not json"), Some(2)).unwrap();
        assert_eq!(items.len(), 2);
        assert!(read(&format!("[{A}, {B}, this is not json"), Some(3)).is_err());
    }

    #[test]
    fn syntax_error_names_line_column_and_item() {
        let err = read(&format!("[\n{A},\n{{\"id\": \"b\",, }}\n]"), None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("t.json:3:12: malformed JSON (item 1)"),
            "{err}"
        );
    }

    #[test]
    fn a_top_level_object_is_rejected() {
        let err = read(A, None).unwrap_err();
        let DataError::Syntax { source, .. } = &err else {
            panic!("{err}")
        };
        assert!(
            source.to_string().contains("top-level JSON array"),
            "{source}"
        );
    }

    #[test]
    fn trailing_text_after_the_array_is_rejected() {
        assert!(read(&format!("[{A}] [{B}]"), None).is_err());
    }

    #[test]
    fn schema_error_names_line_index_and_key_path() {
        let bad = r#"{"id": "z/3", "input": "x", "output": [], "candidates": []}"#;
        let err = read(&format!("[{A}, {bad}]"), None).unwrap_err();
        let DataError::Schema {
            at,
            key_path,
            source,
        } = &err
        else {
            panic!("{err}")
        };
        // The id is re-read from the file, which this in-memory test does not have (see tests/bad_data.rs).
        assert_eq!(at.to_string(), "t.json:1: item 1");
        assert_eq!(key_path, "output");
        assert!(source.to_string().contains("empty list"), "{source}");
    }

    #[test]
    fn callback_errors_stop_the_read_and_come_back_unchanged() {
        let mut seen = 0;
        let err = read_array(
            Path::new("t.json"),
            format!("[{A}, {B}]").as_bytes(),
            None,
            &mut |at, _| {
                seen += 1;
                Err(DataError::NoCandidates { at: Box::new(at) })
            },
        )
        .unwrap_err();
        assert_eq!(seen, 1);
        assert_eq!(
            err.to_string(),
            r#"t.json: item 0 (id "a"): item has no candidates"#
        );
    }
}
