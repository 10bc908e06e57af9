//! Hugging Face checkpoints: loading a backbone from a model directory or a weights file, exporting
//! it under HF names, and reading/writing safetensors files.
//!
//! The key map between HF names and our module paths is documented in `remap.rs`: it is
//! near-identity because the backbone modules are named after the HF key segments.

mod export;
mod load;
mod remap;
mod safetensors_io;

pub use export::{backbone_gradients, backbone_state_dict};
pub use load::{
    find_weights, load_backbone, load_backbone_weights, load_backbone_with_config, UnusedKeys,
};
pub use safetensors_io::{read_safetensors, read_safetensors_filtered, write_safetensors};
