//! The crate's error type.

use std::io;
use std::path::PathBuf;

/// Why loading or saving a model, config, checkpoint or tokenizer failed.
///
/// Every variant names the file and, where there is one, the config key, tensor key or input index.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A file could not be read.
    #[error("reading {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A file could not be written (or renamed into place).
    #[error("writing {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// `config.json` is not valid JSON or a key has the wrong type.
    #[error("{path}: config key `{key}`: {message}")]
    ConfigParse {
        /// The config file.
        path: PathBuf,
        /// The key path (`.` separated) serde stopped at.
        key: String,
        /// What serde reported.
        message: String,
    },
    /// A config key asks for something this crate does not implement (or is inconsistent).
    #[error("{path}: config key `{key}`: {reason}")]
    UnsupportedConfig {
        /// The config file.
        path: PathBuf,
        /// The offending key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A model directory has no weights file we can read.
    #[error("{dir}: no model.safetensors or pytorch_model.bin")]
    MissingWeights {
        /// The model directory.
        dir: PathBuf,
    },
    /// A safetensors file is malformed.
    #[error("{path}: invalid safetensors file")]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: safetensors::SafeTensorError,
    },
    /// A safetensors file could not be opened through burn-store.
    #[error("{path}: reading safetensors checkpoint")]
    SafetensorsStore {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: burn_store::SafetensorsStoreError,
    },
    /// A `pytorch_model.bin` file could not be read.
    #[error("{path}: reading PyTorch checkpoint")]
    Pytorch {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: burn_store::PytorchStoreError,
    },
    /// A checkpoint tensor does not have the shape the model expects.
    #[error("checkpoint {path}: tensor '{key}' has shape {found:?}, expected {expected:?}")]
    ShapeMismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// The checkpoint key (HF naming).
        key: String,
        /// The shape the model expects (HF layout).
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// A checkpoint tensor could not be decoded or converted.
    #[error("checkpoint {path}: tensor '{key}': {message}")]
    Tensor {
        /// The checkpoint file.
        path: PathBuf,
        /// The checkpoint key.
        key: String,
        /// What went wrong.
        message: String,
    },
    /// Model parameters that the checkpoint does not provide.
    #[error("checkpoint {path}: {} backbone parameter(s) missing: {}", keys.len(), keys.join(", "))]
    MissingKeys {
        /// The checkpoint file.
        path: PathBuf,
        /// The missing keys (HF naming, with the checkpoint's prefix).
        keys: Vec<String>,
    },
    /// Checkpoint keys under the backbone prefix that match no parameter and no allowlist entry.
    #[error("checkpoint {path}: {} key(s) not used by the backbone: {}", keys.len(), keys.join(", "))]
    UnusedKeys {
        /// The checkpoint file.
        path: PathBuf,
        /// The unused keys, as spelled in the file.
        keys: Vec<String>,
    },
    /// A tensor handed to the safetensors writer has a dtype safetensors cannot store.
    #[error("{path}: tensor '{key}' has dtype {dtype}, which safetensors cannot store")]
    UnsupportedDtype {
        /// The file being written or read.
        path: PathBuf,
        /// The tensor key.
        key: String,
        /// The dtype, as debug-printed.
        dtype: String,
    },
    /// `tokenizer.json` could not be loaded.
    #[error("{path}: loading tokenizer")]
    Tokenizer {
        /// The tokenizer file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: tokenizers::Error,
    },
    /// An input could not be tokenized.
    #[error("input {index}: tokenizing")]
    Tokenize {
        /// Index of the input (0-based, input order).
        index: usize,
        /// The cause.
        #[source]
        source: tokenizers::Error,
    },
    /// An input is longer than the model's absolute position table.
    #[error("input {index}: {len} tokens, more than the {max} the model's position embeddings cover (config key `max_position_embeddings`)")]
    SequenceTooLong {
        /// Index of the input (0-based, input order).
        index: usize,
        /// Its length in tokens (with special tokens).
        len: usize,
        /// The most the model accepts.
        max: usize,
    },
    /// An input has a token type id the model has no embedding for.
    #[error("input {index}: token type id {type_id} but the model has `type_vocab_size` {type_vocab_size}")]
    TokenTypeOutOfRange {
        /// Index of the input (0-based, input order).
        index: usize,
        /// The token type id.
        type_id: u32,
        /// The model's `type_vocab_size`.
        type_vocab_size: usize,
    },
    /// An input has a token id outside the model's vocabulary.
    #[error("input {index}: token id {token_id} is outside the model's vocabulary of {vocab_size} (resize the embeddings after adding tokens)")]
    TokenOutOfVocab {
        /// Index of the input (0-based, input order).
        index: usize,
        /// The token id.
        token_id: u32,
        /// The model's vocabulary size.
        vocab_size: usize,
    },
    // --- rankers, collation and ranker checkpoints (M2) ---
    /// A collated row does not hold its marker token exactly once, or holds another ranker's marker.
    #[error("item {item}, {segment}: marker `{marker}` occurs {found} time(s) after tokenization, expected {expected}")]
    MarkerCount {
        /// Index of the item (0-based, batch order).
        item: usize,
        /// Which segment (`source`, `candidate 2`, …).
        segment: String,
        /// The marker text.
        marker: &'static str,
        /// How often it occurs.
        found: usize,
        /// How often it must occur.
        expected: usize,
    },
    /// An encoded segment has no separator token, so pairs cannot be assembled.
    #[error("item {item}, {segment}: no separator token in the encoded segment")]
    MissingSeparator {
        /// Index of the item (0-based, batch order).
        item: usize,
        /// Which segment.
        segment: String,
    },
    /// A length limit too small to keep the special tokens and a marker.
    #[error("`{key}` = {value} is too small: at least {min} tokens are needed to keep the special tokens and a marker")]
    LengthBudget {
        /// The setting (`source_maxlength`, …).
        key: &'static str,
        /// Its value.
        value: usize,
        /// The smallest usable value.
        min: usize,
    },
    /// Items of one batch have different candidate counts where the layout needs a rectangle.
    #[error("item {item}: {found} candidates, but the batch's first item has {expected} (a batch must be rectangular)")]
    CandidateCount {
        /// Index of the item (0-based, batch order).
        item: usize,
        /// Its candidate count.
        found: usize,
        /// The first item's candidate count.
        expected: usize,
    },
    /// The number of references (targets) differs from the number of items.
    #[error("{found} references given for {expected} items")]
    TargetCount {
        /// References given.
        found: usize,
        /// Items in the batch.
        expected: usize,
    },
    /// A pair refers to an item or candidate that is not in the collated batch.
    #[error("pair of item {item}: {reason}")]
    PairIndex {
        /// Index of the item the pair names.
        item: usize,
        /// What is out of range.
        reason: String,
    },
    /// A reference-layout ranker checkpoint has no backbone `config.json` and no base model directory was given.
    #[error("{dir}: config.json is not a backbone config; pass the directory of the base model `{model_name}` (its config.json and tokenizer)")]
    MissingBackboneConfig {
        /// The checkpoint directory.
        dir: PathBuf,
        /// The ranker config's `model_name`.
        model_name: String,
    },
    /// `added_tokens.json` gives a marker another id than the tokenizer does.
    #[error("{path}: token `{token}` has id {expected} there but {found} in the tokenizer")]
    MarkerIdMismatch {
        /// The `added_tokens.json` file.
        path: PathBuf,
        /// The token.
        token: String,
        /// Its id in the file.
        expected: u64,
        /// Its id in the tokenizer.
        found: u32,
    },
    /// A candidate selection does not have one row per item.
    #[error("{found} candidate selections given for {expected} items")]
    SelectionCount {
        /// Selections given.
        found: usize,
        /// Items in the batch.
        expected: usize,
    },
}
