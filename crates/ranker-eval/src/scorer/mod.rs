//! The seam between inference and a model: pairwise and listwise scorer traits, and a synthetic scorer for tests
//! and benchmarks.

mod base;
mod synthetic;

pub use base::*;
pub use synthetic::*;
