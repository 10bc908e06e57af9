//! Training-time sub-sampling, as LLM-Blender does it
//! (<https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/ranker.py>): candidate pairs for PairRanker
//! ([`PairSampler`]) and candidate subsets for SummaReranker and SimCLS ([`CandidateSampler`]).
//!
//! Every random choice comes from the caller's RNG, so a seeded RNG gives the same samples on every run. The
//! draws are not those of torch/numpy (different generators); the distributions are.
//!
//! Sorting follows the reference's float32 tensors: sort keys are computed in `f32` (scores cast to `f32`, summed
//! in candidate-task order), sorted descending with ties kept in index order. That is what `torch.argsort`
//! (`descending=True`) does on CPU for up to 16 elements (insertion sort; MixInstruct has 11 candidates); for
//! longer inputs torch's unstable sort may order ties differently, we keep index order.
//!
//! The torch facts the tests hard-code (tie order, step truncation, slicing) are checked against torch by
//! `tests/data/check_torch_semantics.py`.

mod candidates;
mod modes;
mod order;
mod pairs;

pub use candidates::{CandidateSampler, CandidateSampling};
pub use modes::{CandidateMode, PairMode};
pub use pairs::{CandidatePair, PairSampler, PairSampling};
