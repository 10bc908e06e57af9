//! Models of llm-ranker: pretrained encoder backbones (DeBERTa-v2/v3, BERT, RoBERTa, XLM-RoBERTa, the
//! T5 encoder) written in burn and generic over its `Backend`, Hugging Face checkpoint loading and
//! export, the tokenizer with the rankers' marker tokens, and the library half of `ranker encode`.
//!
//! The backbones mirror transformers' modules (field names are HF key segments), so HF checkpoints
//! load with a near-identity key map ([`hf`]) and their `last_hidden_state` matches transformers' within
//! float noise (the parity fixtures under `tests/fixtures/models/` are made by
//! `tests/fixtures/make_model_fixtures.py`).
//!
//! This crate does not read datasets or run training loops, and never prints: logs go through
//! `tracing`.

// Unsafe code only where a module or statement allows it (with its SAFETY comment).
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod backbone;
pub mod checkpoint;
pub mod collate;
pub mod dropout;
pub mod encode;
mod error;
pub mod hf;
mod io;
pub mod loss;
pub mod ranker;
pub mod tokenizer;

pub use backbone::{
    Backbone, BackboneConfig, BackboneInput, BackboneOutput, ConfigIssue, HiddenAct, NewRowInit,
};
pub use error::LoadError;
pub use hf::{
    backbone_gradients, backbone_state_dict, load_backbone, load_backbone_weights,
    load_backbone_with_config, read_safetensors, read_safetensors_filtered, write_safetensors,
    UnusedKeys,
};
pub use tokenizer::{add_marker_tokens, load_tokenizer, tokenizer_len};
