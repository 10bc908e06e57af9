//! The serde model of a MixInstruct item, as read from and written to JSON / JSONL.

mod cmp;
mod id;
mod item;
mod output;
mod scores;

pub use cmp::CmpField;
pub use id::ItemId;
pub use item::{MixCandidate, MixItem};
pub use output::Output;
pub use scores::ScoreMap;
