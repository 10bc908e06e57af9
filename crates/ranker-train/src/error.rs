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
    /// Reading or writing a file failed (the message names the file; the cause is its source).
    #[error("{path}", path = path.display())]
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
    /// A setting cannot be used (a missing file, an incompatible checkpoint, …).
    #[error("{key}: {message}")]
    Setup {
        /// The config key (or CLI flag) at fault.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Bad data.
    #[error(transparent)]
    Data(#[from] ranker_data::DataError),
    /// A model, tokenizer or checkpoint could not be loaded or saved.
    #[error(transparent)]
    Model(#[from] ranker_models::LoadError),
    /// Evaluation failed.
    #[error(transparent)]
    Eval(#[from] ranker_eval::EvalError),
    /// A collective or the rendezvous store failed (names the rank or key).
    #[error(transparent)]
    Dist(#[from] ranker_dist::DistError),
    /// The compute device failed outside a tensor operation (e.g. while handing the gradient
    /// buffer to NCCL).
    #[error("device: {op}: {message}")]
    Device {
        /// What was being done.
        op: &'static str,
        /// The device runtime's message.
        message: String,
    },
    /// The optimiser state of a checkpoint does not fit the model.
    #[error("checkpoint {path}", path = path.display())]
    OptimizerState {
        /// The checkpoint directory.
        path: PathBuf,
        /// The mismatch.
        #[source]
        source: OptimizerStateError,
    },
}
