//! The crate's one error type.

use std::path::PathBuf;

use crate::read::ItemLocation;

/// Everything that can go wrong in `ranker-data`. Every message names the file and the item (line for JSONL,
/// index and id for JSON) or the configuration key it is about.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A file could not be opened, read or listed.
    #[error("{}: cannot read", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O cause.
        #[source]
        source: std::io::Error,
    },
    /// A line of a JSONL file could not be read (I/O error or invalid UTF-8).
    #[error("{}:{line}: cannot read line", path.display())]
    ReadLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The I/O cause.
        #[source]
        source: std::io::Error,
    },
    /// A file or directory could not be written, synced or renamed into place.
    #[error("{}: cannot write", path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The I/O cause.
        #[source]
        source: std::io::Error,
    },
    /// A value could not be encoded as JSON while writing.
    #[error("{}: cannot encode item {index} as JSON", path.display())]
    Encode {
        /// The file being written.
        path: PathBuf,
        /// The index of the item being written.
        index: usize,
        /// The serde cause.
        #[source]
        source: serde_json::Error,
    },
    /// The path has neither a `.json` nor a `.jsonl` extension.
    #[error("{}: unknown data format (expected a .json array or a .jsonl file)", path.display())]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The text is not valid JSON (or a `.json` file is not a top-level array).
    #[error("{}:{line}:{column}: malformed JSON (item {index})", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line in the file.
        line: usize,
        /// 1-based column in that line.
        column: usize,
        /// 0-based index of the item being read.
        index: usize,
        /// The serde cause.
        #[source]
        source: serde_json::Error,
    },
    /// A score is written as `NaN` / `Infinity` (what Python's `json.dump` writes for non-finite floats), which
    /// is not JSON.
    #[error(
        "{}:{line}:{column}: `{literal}` is not JSON; scores must be finite numbers \
         (Python's json.dump writes NaN/Infinity for non-finite floats)",
        path.display()
    )]
    NonFiniteLiteral {
        /// The file.
        path: PathBuf,
        /// 1-based line in the file.
        line: usize,
        /// 1-based column in that line.
        column: usize,
        /// The literal found: `NaN`, `Infinity` or `-Infinity`.
        literal: &'static str,
        /// The serde cause.
        #[source]
        source: serde_json::Error,
    },
    /// The JSON is valid but does not have the MixInstruct shape (missing field, wrong type, empty `output` list,
    /// unknown `cmp_results` verdict, ...).
    #[error("{at}: at `{key_path}`: invalid MixInstruct item")]
    Schema {
        /// Where the item is.
        at: Box<ItemLocation>,
        /// The key path inside the item, e.g. `candidates[3]`.
        key_path: String,
        /// The serde cause.
        #[source]
        source: serde_json::Error,
    },
    /// An item has no candidates at all.
    #[error("{at}: item has no candidates")]
    NoCandidates {
        /// Where the item is.
        at: Box<ItemLocation>,
    },
    /// The model / decoding-method filters left an item without candidates.
    #[error(
        "{at}: no candidate left after filtering by models {models:?} and decoding methods {methods:?}; \
         available (model, decoding_method) pairs: {available:?}"
    )]
    NoCandidatesAfterFilter {
        /// Where the item is.
        at: Box<ItemLocation>,
        /// The model filter (`None` = no filter).
        models: Option<Vec<String>>,
        /// The decoding-method filter (`None` = no filter).
        methods: Option<Vec<String>>,
        /// The item's (model, decoding_method) pairs.
        available: Vec<(String, String)>,
    },
    /// A configured metric is missing from a candidate's `scores`.
    #[error("{at}: candidate {candidate} (model {model:?}) has no score {metric:?}; it has {available:?}")]
    MissingMetric {
        /// Where the item is.
        at: Box<ItemLocation>,
        /// Index of the candidate in the item's `candidates` list (before filtering).
        candidate: usize,
        /// The candidate's model.
        model: String,
        /// The missing metric.
        metric: String,
        /// The metrics the candidate has.
        available: Vec<String>,
    },
    /// A configured metric's value is not a JSON number.
    #[error(
        "{at}: candidate {candidate} (model {model:?}): score {metric:?} is not a number: {value}"
    )]
    NonNumericScore {
        /// Where the item is.
        at: Box<ItemLocation>,
        /// Index of the candidate in the item's `candidates` list (before filtering).
        candidate: usize,
        /// The candidate's model.
        model: String,
        /// The metric.
        metric: String,
        /// The offending JSON value, as written.
        value: String,
    },
    /// A score is NaN or infinite after the metric weight is applied.
    #[error("{at}: candidate {candidate} (model {model:?}): score {metric:?} is {value} after weighting, not finite")]
    NonFiniteScore {
        /// Where the item is.
        at: Box<ItemLocation>,
        /// Index of the candidate in the item's `candidates` list (before filtering).
        candidate: usize,
        /// The candidate's model.
        model: String,
        /// The metric.
        metric: String,
        /// The weighted value.
        value: f64,
    },
    /// No metric was configured and the first item's first candidate has no scores to take the metric list from.
    #[error("{at}: no metrics configured and the first candidate has no scores to take them from")]
    NoMetrics {
        /// Where the item is.
        at: Box<ItemLocation>,
    },
    /// The file holds no items (after `max_size`).
    #[error("{}: no items", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// An example's candidate count differs from the others' where a rectangle is required.
    #[error(
        "{}: example {index} (id {id:?}) has {found} candidates, expected {expected} (as example 0); \
         set data.n_candidates or filter candidates so every example has the same number",
        path.display()
    )]
    NotRectangular {
        /// The file the dataset was loaded from.
        path: PathBuf,
        /// Index of the example.
        index: usize,
        /// Id of the example.
        id: String,
        /// Its candidate count.
        found: usize,
        /// The first example's candidate count.
        expected: usize,
    },
    /// A configuration value is out of range (sampling, synthetic-set or load options).
    #[error("{key} = {value}: {reason}")]
    InvalidOption {
        /// The configuration key, e.g. `sampling.ratio`.
        key: &'static str,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A batch given to a batch-level sampler mixes candidate counts.
    #[error("sampling mode {mode}: every example of a batch needs the same number of candidates, got {counts:?}")]
    RaggedBatch {
        /// The sampling mode.
        mode: String,
        /// The candidate count of each example in the batch.
        counts: Vec<usize>,
    },
    /// A row of a file being converted (`ranker data convert`, `ranker data prepare`) is unusable.
    #[error("{}:{line}: {message}", path.display())]
    BadRow {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong, naming the field.
        message: String,
    },
    /// The reference's raw layout is incomplete or inconsistent (`ranker data prepare`).
    #[error("{}: {message}", path.display())]
    Layout {
        /// The file or directory at fault.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The text metrics could not score an item's candidates.
    #[error("{at}: cannot score the candidates")]
    Metric {
        /// Where the item is.
        at: Box<ItemLocation>,
        /// The metric library's cause.
        #[source]
        source: ranker_metrics::MetricsError,
    },
}
