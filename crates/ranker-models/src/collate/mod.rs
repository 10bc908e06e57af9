//! Tokenization and batch layout for each ranker, exactly as the reference collators
//! (<https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/collator.py>).
//!
//! Collation produces plain arrays ([`TokenMatrix`]: ids + mask + shape) so that callers can pack rows from
//! many items before anything touches a device; [`TokenMatrix::to_tensors`] makes the burn tensors.

mod markers;
mod pair_ranker;
mod pairrm;
mod simcls;
mod summa_reranker;
mod text_encoder;
mod token_matrix;

pub use markers::*;
pub use pair_ranker::*;
pub use pairrm::*;
pub use simcls::*;
pub use summa_reranker::*;
pub use text_encoder::*;
pub use token_matrix::*;
