//! The seam between inference and a model: pairwise and listwise scorer traits, and a synthetic scorer for tests
//! and benchmarks.

mod base;
mod synthetic;

pub use base::{ListScorer, PairRef, PairScorer};
pub use synthetic::{SyntheticItem, SyntheticScorer};
