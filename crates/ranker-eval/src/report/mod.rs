//! The evaluation report: selection metrics (and the trainer's eval-in-the-loop numbers), GPT metrics from
//! `cmp_results`, baseline rows and the console table.

mod build;
mod gpt;
mod selection;
mod table;
mod values;

pub use build::*;
pub(crate) use gpt::judged_items;
pub use gpt::{CmpPolicy, Correlations, GptOptions, GptSummary};
pub use selection::*;
pub use table::*;
pub use values::NamedValues;
