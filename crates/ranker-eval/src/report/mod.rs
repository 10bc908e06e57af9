//! The evaluation report: selection metrics (and the trainer's eval-in-the-loop numbers), GPT metrics from
//! `cmp_results`, baseline rows and the console table; the table and chart across runs (`ranker report`).

mod across_runs;
mod build;
mod chart;
mod gpt;
mod selection;
mod table;
mod values;

pub use across_runs::{chart_series, compare_runs, CompareError, CompareOptions, RunReport};
pub use build::{build_report, MethodRow, ModeInfo, Report, ReportInput, RowCategory, Timings};
pub use chart::comparison_chart;
pub(crate) use gpt::judged_items;
pub use gpt::{CmpPolicy, Correlations, GptOptions, GptSummary};
pub use selection::{oracle_index, selection_metrics, SelectionMetrics};
pub use table::render_table;
pub use values::NamedValues;
