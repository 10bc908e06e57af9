//! PairRM-style use of a pairwise ranker as a reward model (LLM-Blender's `Blender.rank`, `compare`,
//! `rank_with_ref`, `get_best_of_n`), over chunks of a stream so that a CLI can read JSONL on stdin and write JSONL
//! on stdout ([`for_each_chunk`]).
// https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/blender/blender.py

mod api;
mod io;

pub use api::*;
pub use io::*;
