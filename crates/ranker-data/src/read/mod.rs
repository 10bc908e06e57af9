//! Streaming readers for MixInstruct `.json` (top-level array) and `.jsonl` (one item per line) files.

mod items;
mod json;
mod jsonl;
mod location;

pub use items::{read_items, DataFormat};
pub use location::ItemLocation;
