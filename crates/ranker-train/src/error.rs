use std::path::PathBuf;

use crate::config::ConfigError;
use crate::optim::OptimizerStateError;

/// Why training could not start or stopped; messages name the file, key or rank involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A configuration problem.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Reading or writing a file failed.
    #[error("{path}: {source}", path = path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A plot could not be drawn.
    #[error("{path}: drawing the plot failed: {message}", path = path.display())]
    Plot {
        /// The image file.
        path: PathBuf,
        /// The plotting library's message.
        message: String,
    },
    /// A checkpoint is unusable.
    #[error("checkpoint {path}: {message}", path = path.display())]
    Checkpoint {
        /// The checkpoint directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The optimiser state of a checkpoint does not fit the model.
    #[error("checkpoint {path}: {source}", path = path.display())]
    OptimizerState {
        /// The checkpoint directory.
        path: PathBuf,
        /// The mismatch.
        #[source]
        source: OptimizerStateError,
    },
}
