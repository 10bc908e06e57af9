//! Tokenization and batch layout for each ranker, exactly as the reference collators (spec §2.1–§2.3, §5).
//!
//! Collation produces plain arrays ([`TokenMatrix`]: ids + mask + shape) so that callers can pack rows from
//! many items before anything touches a device; [`TokenMatrix::to_tensors`] makes the burn tensors.

mod dual;
mod markers;
mod pair;
mod pairrm;
mod scr;
mod text_encoder;
mod token_matrix;

pub use dual::*;
pub use markers::*;
pub use pair::*;
pub use pairrm::*;
pub use scr::*;
pub use text_encoder::*;
pub use token_matrix::*;
