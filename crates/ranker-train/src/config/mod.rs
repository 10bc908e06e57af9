//! The run configuration (`task`, `run`, `data`, `model`, `train`, `eval`, `dist`), read from YAML.

mod error;
mod load;
mod schema;
mod validate;

pub use error::*;
pub use load::*;
pub use schema::*;
