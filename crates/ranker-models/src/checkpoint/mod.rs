//! Ranker checkpoints: the reference's `RankerConfig`, loading LLM-Blender checkpoints (`llm-blender/PairRM`,
//! `llm-blender/pair-ranker`, and `SummaReranker` / `DualReranker` state dicts) and saving ours in the same layout.

mod atomic_dir;
mod layout;
mod pair_ranker;
mod ranker_config;
mod simcls;
mod summa_reranker;
mod tensors;

pub use layout::LoadedRanker;
pub use pair_ranker::{load_pair_ranker, load_pair_ranker_weights, save_pair_ranker};
pub use ranker_config::{RankerConfig, RankerType};
pub use simcls::{load_simcls, load_simcls_weights, save_simcls};
pub use summa_reranker::{load_summa_reranker, load_summa_reranker_weights, save_summa_reranker};
