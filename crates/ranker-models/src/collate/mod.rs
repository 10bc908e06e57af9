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

pub use markers::{
    escape_pair_markers, PairMarkerIds, CANDIDATE1_MARKER, CANDIDATE2_MARKER, CANDIDATE_MARKER,
    DUAL_CANDIDATE_PREFIX, DUAL_SOURCE_PREFIX, PAIR_MARKERS, SOURCE_MARKER,
};
pub use pair_ranker::{
    CandidatePair, CollatedPairItems, LengthBudget, PairBatch, PairCollator, PairRow,
    PairTokenizer, RankText,
};
pub use pairrm::{PairRmLayout, PairText};
pub use simcls::{DualBatch, DualCollator};
pub use summa_reranker::{ScrBatch, ScrCollator};
pub use text_encoder::{SpecialTokens, TextEncoder, TokenizerSettings};
pub use token_matrix::TokenMatrix;
