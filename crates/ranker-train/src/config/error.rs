use std::path::PathBuf;

/// A configuration problem; every message names the file and the key path, or the `--set` argument.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}", path = path.display())]
    Io {
        /// The config file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid YAML.
    #[error("{file}: {message}", file = file.display())]
    Syntax {
        /// The config file.
        file: PathBuf,
        /// Parser message with line and column.
        message: String,
    },
    /// A key is unknown, has the wrong type, or a value is out of range.
    #[error("{file}: {key}: {message}", file = file.display())]
    Invalid {
        /// The config file.
        file: PathBuf,
        /// Dotted key path, e.g. `train.lr`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A `--set` argument is malformed.
    #[error("--set {arg}: {message}")]
    Override {
        /// The argument as given.
        arg: String,
        /// What is wrong.
        message: String,
    },
}
