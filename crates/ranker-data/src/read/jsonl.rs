//! `.jsonl`: one item per line, read line by line through one reused buffer.

use std::io::BufRead;
use std::path::Path;

use serde_json::error::Category;

use super::items::{probe_id, schema_error, syntax_error};
use crate::error::DataError;
use crate::read::ItemLocation;
use crate::schema::MixItem;

pub(super) fn read_lines<R, F>(
    path: &Path,
    mut reader: R,
    max_items: Option<usize>,
    on_item: &mut F,
) -> Result<usize, DataError>
where
    R: BufRead,
    F: FnMut(ItemLocation, MixItem) -> Result<(), DataError>,
{
    let mut buffer = String::new();
    let mut line = 0;
    let mut index = 0;
    while max_items.is_none_or(|max| index < max) {
        buffer.clear();
        line += 1;
        let read = reader
            .read_line(&mut buffer)
            .map_err(|source| DataError::ReadLine {
                path: path.to_owned(),
                line,
                source,
            })?;
        if read == 0 {
            break;
        }
        if buffer.trim().is_empty() {
            continue;
        }
        // Only the end is trimmed, so serde's columns stay the file's columns.
        let text = buffer.trim_end();
        let item = parse_line(path, line, index, text)?;
        let id = item.id.as_ref().map(ToString::to_string);
        on_item(
            ItemLocation {
                path: path.to_owned(),
                line: Some(line),
                index,
                id,
            },
            item,
        )?;
        index += 1;
    }
    Ok(index)
}

fn parse_line(path: &Path, line: usize, index: usize, text: &str) -> Result<MixItem, DataError> {
    let syntax_error = |source: serde_json::Error| {
        syntax_error(path, line, source.column(), index, Some(text), source)
    };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let item = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| match error
        .inner()
        .classify()
    {
        Category::Data => {
            let id = probe_id(&mut serde_json::Deserializer::from_str(text));
            schema_error(
                ItemLocation {
                    path: path.to_owned(),
                    line: Some(line),
                    index,
                    id,
                },
                error,
            )
        }
        Category::Syntax | Category::Eof | Category::Io => syntax_error(error.into_inner()),
    })?;
    deserializer.end().map_err(syntax_error)?;
    Ok(item)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, max: Option<usize>) -> Result<Vec<(ItemLocation, MixItem)>, DataError> {
        let mut items = Vec::new();
        read_lines(
            Path::new("t.jsonl"),
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
    fn skips_blank_lines_and_counts_file_lines() {
        let items = read(&format!("{A}\n\n  \n{B}\r\n"), None).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!((items[0].0.line, items[0].0.index), (Some(1), 0));
        assert_eq!(
            (items[1].0.line, items[1].0.index, items[1].0.id.clone()),
            (Some(4), 1, None)
        );
    }

    #[test]
    fn stops_after_max_items_without_reading_further() {
        let items = read(&format!("{A}\n{B}\nnot json at all"), Some(2)).unwrap();
        assert_eq!(items.len(), 2);
        assert!(read(&format!("{A}\n{B}\nnot json at all"), Some(3)).is_err());
    }

    #[test]
    fn syntax_error_names_line_and_column() {
        let err = read(&format!("{A}\n{{\"id\": \"b\", \"input\": }}\n"), None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("t.jsonl:2:22: malformed JSON (item 1)"),
            "{err}"
        );
    }

    #[test]
    fn python_nan_gets_its_own_message() {
        let line = r#"  {"id": "a", "input": "x", "output": "y", "candidates": [{"scores": {"bleu": NaN}}]}"#;
        let err = read(line, None).unwrap_err();
        let DataError::NonFiniteLiteral {
            line: 1,
            column: 79,
            literal: "NaN",
            ..
        } = err
        else {
            panic!("{err}")
        };
    }

    #[test]
    fn trailing_garbage_after_an_item_is_a_syntax_error() {
        let err = read(&format!("{A} x\n"), None).unwrap_err();
        assert!(matches!(err, DataError::Syntax { line: 1, .. }), "{err}");
    }

    #[test]
    fn schema_error_names_line_id_and_key_path() {
        let line = r#"{"id": 9, "input": "x", "output": "y", "candidates": [{"model": "m", "decoding_method": "d"}]}"#;
        let err = read(line, None).unwrap_err();
        let DataError::Schema {
            at,
            key_path,
            source,
        } = &err
        else {
            panic!("{err}")
        };
        assert_eq!(at.to_string(), r#"t.jsonl:1: item 0 (id "9")"#);
        assert_eq!(key_path, "candidates[0]");
        assert!(
            source.to_string().contains("missing field `text`"),
            "{source}"
        );
    }
}
