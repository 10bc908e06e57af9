//! Pretrained encoders: DeBERTa-v2/v3, BERT, RoBERTa / XLM-RoBERTa and the T5 encoder, each mirroring transformers' modules so that
//! Hugging Face checkpoints load with a near-identity key map.

mod activation;
mod base;
pub mod bert;
pub mod deberta_v2;
mod init;
mod length_cache;
mod padding;
pub mod precision;
pub mod roberta;
pub mod t5;

pub use activation::HiddenAct;
pub use base::{Backbone, BackboneConfig, BackboneInput, BackboneOutput, ConfigIssue};
pub use init::NewRowInit;
pub use precision::cast_backbone;
