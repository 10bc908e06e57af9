//! Building MixInstruct-format items from other layouts: preference pairs ([`convert_pairs_file`]) and the
//! reference's raw candidate layout ([`prepare_split`]).

mod pairs;
mod prepare;

pub use pairs::{convert_pairs_file, pair_row_item, PairConvertOptions, PairConvertSummary};
pub use prepare::{prepare_split, PrepareSummary};
