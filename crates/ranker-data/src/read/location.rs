//! Where an item sits in its file, for error messages.

use std::fmt;
use std::path::PathBuf;

/// The position of one item in a data file: file and line for JSONL, file and array index for JSON, plus the
/// item's id once it is known. Its `Display` is the prefix of every per-item error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemLocation {
    /// The data file.
    pub path: PathBuf,
    /// 1-based line: of the item in a JSONL file; of the offending text when a JSON array element does not fit
    /// the schema; `None` otherwise.
    pub line: Option<usize>,
    /// 0-based index of the item among the file's items.
    pub index: usize,
    /// The item's `id`, when it could be read.
    pub id: Option<String>,
}

impl fmt::Display for ItemLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: item {}", self.path.display(), self.index)?,
            None => write!(f, "{}: item {}", self.path.display(), self.index)?,
        }
        if let Some(id) = &self.id {
            write!(f, " (id {id:?})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_file_line_index_and_id() {
        let mut at = ItemLocation {
            path: "d/train.jsonl".into(),
            line: Some(7),
            index: 6,
            id: None,
        };
        assert_eq!(at.to_string(), "d/train.jsonl:7: item 6");
        at.id = Some("x/1".into());
        assert_eq!(at.to_string(), r#"d/train.jsonl:7: item 6 (id "x/1")"#);
        at.line = None;
        assert_eq!(at.to_string(), r#"d/train.jsonl: item 6 (id "x/1")"#);
    }
}
