//! Sharded inference: contiguous blocks of items per rank, results gathered in input order.

mod codec;
mod gather;
mod range;

pub use codec::*;
pub use gather::*;
pub use range::*;
