//! Writing `eval/predictions.jsonl` and `eval/report.json`.

use std::path::Path;

use ranker_data::atomic::{write_json, write_jsonl};

use crate::error::EvalError;
use crate::item::{ItemPrediction, PredictionLine};
use crate::report::Report;

/// File name of the predictions inside the eval directory.
pub const PREDICTIONS_FILE: &str = "predictions.jsonl";
/// File name of the report inside the eval directory.
pub const REPORT_FILE: &str = "report.json";

/// Writes `<eval_dir>/predictions.jsonl` (one [`PredictionLine`] per item, input order; `ids[i]` names
/// `predictions[i]`) and `<eval_dir>/report.json` (pretty-printed), each atomically. The report is written last, so
/// its presence means both are complete.
pub fn write_eval_outputs(
    eval_dir: &Path,
    ids: &[&str],
    predictions: &[ItemPrediction],
    report: &Report,
) -> Result<(), EvalError> {
    let lines = ids
        .iter()
        .zip(predictions)
        .map(|(id, p)| PredictionLine::new(id, p));
    write_jsonl(&eval_dir.join(PREDICTIONS_FILE), lines).map_err(EvalError::Write)?;
    write_json(&eval_dir.join(REPORT_FILE), report, true).map_err(EvalError::Write)?;
    Ok(())
}
