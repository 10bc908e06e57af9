//! The reference's raw layout → prepared items: `ranker data prepare`, as LLM-Blender's
//! `candidates_generation/eval_candidates.py::save_prepared`
//! (<https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/candidates_generation/eval_candidates.py#L31>).
//!
//! Input, under one dataset directory:
//! - `<set>_data.json`: the items (`id`, `instruction`, `input`, `output`), a JSON array;
//! - `candidates/<set>/<decoding_method>/<model>.eval.jsonl`: per line `{"id", "candidates": [{"text", "scores"}]}`,
//!   the candidates of one model with their metric scores (what the reference's `eval_candidates.py` writes).
//!
//! Every item gets, per decoding-method directory and then per model file, that file's candidates for its id. The
//! reference walks directories in file-system order; here both levels are sorted by name, so the candidate order
//! (and with it `top_beam` and position statistics) is the same on every machine. Like the reference, every
//! candidate file must cover exactly the items' ids.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Map;

use crate::atomic::write_items;
use crate::error::DataError;
use crate::read::read_items;
use crate::schema::{ItemId, MixCandidate, MixItem, ScoreMap};

/// What [`prepare_split`] built.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PrepareSummary {
    /// Items written.
    pub items: usize,
    /// The `(decoding_method, model)` of each candidate file, in the order their candidates were appended.
    pub sources: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct EvalRow {
    id: ItemId,
    candidates: Vec<EvalCandidate>,
}

#[derive(Deserialize)]
struct EvalCandidate {
    text: String,
    #[serde(default)]
    scores: ScoreMap,
}

const EVAL_SUFFIX: &str = ".eval.jsonl";

/// Builds the prepared items of split `set` from `dataset_dir` and writes them to `output` (`.json` or `.jsonl`,
/// atomically). `progress` gets the number of candidate files merged so far.
///
/// # Errors
/// A missing data file or candidate directory, a candidate file whose ids differ from the items' (names the file
/// and an id), a bad row (`file:line`), an unwritable output.
pub fn prepare_split(
    dataset_dir: &Path,
    set: &str,
    output: &Path,
    progress: &dyn Fn(usize),
) -> Result<PrepareSummary, DataError> {
    let data_path = dataset_dir.join(format!("{set}_data.json"));
    if !data_path.is_file() {
        return Err(layout(&data_path, "no such file (the split's items)"));
    }
    let mut items: Vec<MixItem> = Vec::new();
    read_items(&data_path, None, |_, item| {
        items.push(item);
        Ok(())
    })?;
    let mut index_of: HashMap<String, usize> = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(id) = &item.id else {
            return Err(layout(
                &data_path,
                &format!("item {i} has no `id`; candidates are matched to items by id"),
            ));
        };
        if index_of.insert(id.to_string(), i).is_some() {
            return Err(layout(&data_path, &format!("id {id} occurs twice")));
        }
    }
    let candidates_dir = dataset_dir.join("candidates").join(set);
    let mut sources = Vec::new();
    for method_dir in sorted_entries(&candidates_dir, true)? {
        for file in sorted_entries(&method_dir, false)? {
            let name = file_name(&file);
            if let Some(model) = name.strip_suffix(EVAL_SUFFIX) {
                sources.push((file_name(&method_dir), model.to_string(), file));
            }
        }
    }
    if sources.is_empty() {
        return Err(layout(
            &candidates_dir,
            "no <decoding_method>/<model>.eval.jsonl candidate files",
        ));
    }
    for (done, (method, model, file)) in sources.iter().enumerate() {
        let mut by_item = read_eval_file(file, &index_of, items.len())?;
        for (i, item) in items.iter_mut().enumerate() {
            let candidates = by_item[i].take().expect("every id checked present");
            item.candidates
                .extend(candidates.into_iter().map(|c| MixCandidate {
                    model: model.clone(),
                    decoding_method: method.clone(),
                    text: c.text,
                    scores: c.scores,
                    extra: Map::new(),
                }));
        }
        progress(done + 1);
    }
    let n = write_items(output, &items)?;
    Ok(PrepareSummary {
        items: n,
        sources: sources.into_iter().map(|(d, m, _)| (d, m)).collect(),
    })
}

/// The candidates of every item (by item index) from one `.eval.jsonl` file.
fn read_eval_file(
    path: &Path,
    index_of: &HashMap<String, usize>,
    n_items: usize,
) -> Result<Vec<Option<Vec<EvalCandidate>>>, DataError> {
    let file = File::open(path).map_err(|source| DataError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut by_item: Vec<Option<Vec<EvalCandidate>>> = (0..n_items).map(|_| None).collect();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line_no = n + 1;
        let line = line.map_err(|source| DataError::ReadLine {
            path: path.to_path_buf(),
            line: line_no,
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| DataError::BadRow {
            path: path.to_path_buf(),
            line: line_no,
            message,
        };
        let row: EvalRow = serde_json::from_str(&line).map_err(|e| {
            bad(format!(
                "not a candidate row {{\"id\", \"candidates\": [{{\"text\", \"scores\"}}]}}: {e}"
            ))
        })?;
        let id = row.id.to_string();
        let Some(&i) = index_of.get(&id) else {
            return Err(bad(format!("id {id} is not an item of the split")));
        };
        if by_item[i].replace(row.candidates).is_some() {
            return Err(bad(format!("id {id} occurs twice")));
        }
    }
    if let Some(missing) = by_item.iter().position(Option::is_none) {
        let id = index_of
            .iter()
            .find(|(_, &i)| i == missing)
            .map(|(id, _)| id.clone())
            .unwrap_or_default();
        let count = by_item.iter().filter(|c| c.is_none()).count();
        return Err(layout(
            path,
            &format!("no candidates for {count} item(s) of the split, e.g. id {id}"),
        ));
    }
    Ok(by_item)
}

fn layout(path: &Path, message: &str) -> DataError {
    DataError::Layout {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The directories (`dirs`) or files of `dir`, sorted by name.
fn sorted_entries(dir: &Path, dirs: bool) -> Result<Vec<PathBuf>, DataError> {
    let read = std::fs::read_dir(dir).map_err(|source| DataError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for entry in read {
        let entry = entry.map_err(|source| DataError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        if (dirs && path.is_dir()) || (!dirs && path.is_file()) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Layout(PathBuf);

    impl Layout {
        fn new(tag: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("ranker-prepare-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                dir.join("test_data.json"),
                r#"[{"id": "a/1", "instruction": "", "input": "x", "output": "y"},
                    {"id": "a/2", "instruction": "Say", "input": "z", "output": ["w"]}]"#,
            )
            .unwrap();
            Self(dir)
        }

        fn candidates(&self, method: &str, model: &str, text: &str) {
            let dir = self.0.join("candidates/test").join(method);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("{model}{EVAL_SUFFIX}")), text).unwrap();
        }
    }

    impl Drop for Layout {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn candidates_are_appended_per_method_then_model_in_name_order() {
        let l = Layout::new("ok");
        l.candidates(
            "top_p_sampling",
            "vicuna",
            "{\"id\": \"a/2\", \"candidates\": [{\"text\": \"v2\", \"scores\": {\"bleu\": 3.0}}]}\n\
             {\"id\": \"a/1\", \"candidates\": [{\"text\": \"v1\", \"scores\": {\"bleu\": 1.0}}]}\n",
        );
        l.candidates(
            "top_p_sampling",
            "alpaca",
            "{\"id\": \"a/1\", \"candidates\": [{\"text\": \"p1\", \"scores\": {\"bleu\": 2.0}}]}\n\
             {\"id\": \"a/2\", \"candidates\": [{\"text\": \"p2\", \"scores\": {\"bleu\": 4.0}}]}\n",
        );
        let out = l.0.join("test_data_prepared.json");
        let summary = prepare_split(&l.0, "test", &out, &|_| {}).unwrap();
        assert_eq!(summary.items, 2);
        assert_eq!(
            summary.sources,
            vec![
                ("top_p_sampling".to_string(), "alpaca".to_string()),
                ("top_p_sampling".to_string(), "vicuna".to_string())
            ]
        );
        let mut items = Vec::new();
        read_items(&out, None, |_, item| {
            items.push(item);
            Ok(())
        })
        .unwrap();
        let texts: Vec<&str> = items[1]
            .candidates
            .iter()
            .map(|c| c.text.as_str())
            .collect();
        assert_eq!(texts, ["p2", "v2"]);
        assert_eq!(items[1].candidates[1].model, "vicuna");
        assert_eq!(items[1].candidates[1].decoding_method, "top_p_sampling");
        assert_eq!(items[1].instruction, "Say");
    }

    #[test]
    fn mismatched_ids_and_bad_rows_are_named() {
        let l = Layout::new("bad");
        l.candidates(
            "beam",
            "m",
            "{\"id\": \"a/1\", \"candidates\": []}\n{\"id\": \"a/9\", \"candidates\": []}\n",
        );
        let out = l.0.join("out.json");
        let err = prepare_split(&l.0, "test", &out, &|_| {})
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("m.eval.jsonl:2: id a/9 is not an item of the split"),
            "{err}"
        );
        l.candidates("beam", "m", "{\"id\": \"a/1\", \"candidates\": []}\n");
        let err = prepare_split(&l.0, "test", &out, &|_| {})
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("no candidates for 1 item(s) of the split, e.g. id a/2"),
            "{err}"
        );
        l.candidates("beam", "m", "{\"id\": \"a/1\"}\n");
        let err = prepare_split(&l.0, "test", &out, &|_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("m.eval.jsonl:1: not a candidate row"), "{err}");
        assert!(!out.exists());
        let err = prepare_split(&l.0, "dev", &out, &|_| {})
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("dev_data.json: no such file (the split's items)"),
            "{err}"
        );
    }
}
