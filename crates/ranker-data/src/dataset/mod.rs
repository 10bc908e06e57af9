//! The in-memory dataset training and evaluation use: loaded, filtered, weighted, one [`Example`] per item.

mod example;
mod load;
mod options;
mod weights;

pub use example::{Dataset, Example, ScoreMatrix};
pub use options::LoadOptions;
pub use weights::metric_weight;
