//! `ranker report`: the paper-style table across several evaluated runs (LLM-Blender's ranker table and its
//! correlation-with-GPT-Rank table), built from their `eval/report.json`.

use std::path::{Path, PathBuf};

use super::build::{MethodRow, Report, RowCategory};
use super::table::{category_label, markdown, number};

/// Why the reports could not be read or compared.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// A path is neither a report file nor a directory holding one.
    #[error("{}: no report.json there (pass a run directory with eval/report.json, or the file)", path.display())]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// A report file could not be read.
    #[error("{}: cannot read", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A report file is not an evaluation report.
    #[error("{}: not an evaluation report: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// No report was given.
    #[error("no reports to compare")]
    Empty,
    /// The chart could not be drawn.
    #[error("{}: drawing the chart failed: {message}", path.display())]
    Chart {
        /// The image file.
        path: PathBuf,
        /// The plotting library's message.
        message: String,
    },
}

/// One evaluated run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunReport {
    /// Its label in the table: the run directory's name.
    pub label: String,
    /// The report file.
    pub path: PathBuf,
    /// The report.
    pub report: Report,
}

impl RunReport {
    /// Reads `path`: a `report.json` (or any report file), a run directory (`eval/report.json`) or an
    /// evaluation directory (`report.json`).
    ///
    /// # Errors
    /// No report there, or a file that is not a report.
    pub fn load(path: &Path) -> Result<Self, CompareError> {
        let file = if path.is_file() {
            path.to_path_buf()
        } else {
            [
                path.join("eval").join("report.json"),
                path.join("report.json"),
            ]
            .into_iter()
            .find(|p| p.is_file())
            .ok_or_else(|| CompareError::NotFound {
                path: path.to_path_buf(),
            })?
        };
        let text = std::fs::read_to_string(&file).map_err(|source| CompareError::Read {
            path: file.clone(),
            source,
        })?;
        let report: Report = serde_json::from_str(&text).map_err(|source| CompareError::Parse {
            path: file.clone(),
            source,
        })?;
        Ok(Self {
            label: run_label(&file),
            path: file,
            report,
        })
    }

    /// The evaluated ranker's row (the report's last `Rankers` row that is not the random baseline).
    pub fn ranker_row(&self) -> Option<&MethodRow> {
        self.report
            .rows
            .iter()
            .rev()
            .find(|r| r.category == RowCategory::Ranker && r.name != "Random")
    }
}

/// The run directory's name for `<run>/eval/report.json`, else the report's directory name, else its stem.
fn run_label(file: &Path) -> String {
    let name = |p: Option<&Path>| {
        p.and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
    };
    let parent = file.parent();
    match name(parent).as_deref() {
        Some("eval") => name(parent.and_then(Path::parent)),
        Some(dir) if !dir.is_empty() => Some(dir.to_owned()),
        _ => None,
    }
    .or_else(|| file.file_stem().map(|s| s.to_string_lossy().into_owned()))
    .unwrap_or_else(|| "run".into())
}

/// What goes into the table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompareOptions {
    /// Also list the candidate models' own rows (from the first report).
    pub with_llms: bool,
    /// The ≥X columns: these opponents (candidate model names). Empty: Vicuna and Open Assistant when present
    /// (the paper's ≥Vic / ≥OA), else every opponent.
    pub opponents: Vec<String>,
}

const PAPER_OPPONENTS: [&str; 2] = ["vicuna-13b-1.1", "oasst-sft-4-pythia-12b-epoch-3.5"];

/// One table row: the run label (empty for baselines) and the method's row.
struct Line<'a> {
    run: String,
    row: &'a MethodRow,
    category: RowCategory,
}

/// The Markdown tables for `runs`: one row per run (its ranker), after the baseline rows of the first report
/// (Oracle rows and Random; candidate models too with `with_llms`). Columns: the mean score of the selection per
/// metric (union over the reports, in first-seen order), GPT-Rank, ≥X (%), Top-k (%), then a second table of the
/// correlations with the GPT ranks (Pearson and Spearman ×100, footrule as is) when any report has them.
///
/// # Errors
/// No runs.
pub fn compare_runs(runs: &[RunReport], options: &CompareOptions) -> Result<String, CompareError> {
    let first = runs.first().ok_or(CompareError::Empty)?;
    let mut lines: Vec<Line<'_>> = first
        .report
        .rows
        .iter()
        .filter(|r| match r.category {
            RowCategory::Llm => options.with_llms,
            RowCategory::Analysis => true,
            RowCategory::Ranker => r.name == "Random",
        })
        .map(|row| Line {
            run: String::new(),
            row,
            category: row.category,
        })
        .collect();
    for run in runs {
        if let Some(row) = run.ranker_row() {
            lines.push(Line {
                run: run.label.clone(),
                row,
                category: RowCategory::Ranker,
            });
        }
    }

    let mut metrics: Vec<String> = Vec::new();
    for run in runs {
        for m in &run.report.metrics {
            if !metrics.contains(m) {
                metrics.push(m.clone());
            }
        }
    }
    let gpt_rows: Vec<_> = lines.iter().filter_map(|l| l.row.gpt.as_ref()).collect();
    let has_gpt = !gpt_rows.is_empty();
    let mut all_opponents: Vec<String> = Vec::new();
    let mut ks: Vec<String> = Vec::new();
    for g in &gpt_rows {
        for o in g.beats.names() {
            if !all_opponents.iter().any(|x| x == o) {
                all_opponents.push(o.to_owned());
            }
        }
        for k in g.top_k.names() {
            if !ks.iter().any(|x| x == k) {
                ks.push(k.to_owned());
            }
        }
    }
    let opponents: Vec<String> = if !options.opponents.is_empty() {
        options.opponents.clone()
    } else if PAPER_OPPONENTS
        .iter()
        .all(|p| all_opponents.iter().any(|o| o == p))
    {
        PAPER_OPPONENTS.iter().map(|s| (*s).to_owned()).collect()
    } else {
        all_opponents
    };

    let mut out = String::new();
    let sizes: Vec<usize> = runs.iter().map(|r| r.report.n_examples).collect();
    out.push_str(&format!(
        "{} run(s); baselines from {} ({} items)",
        runs.len(),
        first.label,
        first.report.n_examples
    ));
    if sizes.iter().any(|&n| n != sizes[0]) {
        out.push_str("; the runs were evaluated on different numbers of items");
    }
    out.push_str(".\n\n");

    let mut header = vec!["Category".to_owned(), "Run".to_owned(), "Method".to_owned()];
    header.extend(metrics.iter().map(|m| format!("{m}↑")));
    if has_gpt {
        header.push("GPT-Rank↓".into());
        header.extend(opponents.iter().map(|o| format!("≥{o}(%)↑")));
        header.extend(ks.iter().map(|k| format!("Top-{k}(%)↑")));
    }
    let mut body = Vec::new();
    let mut last = None;
    for line in &lines {
        let category = if last == Some(line.category) {
            String::new()
        } else {
            category_label(line.category).to_owned()
        };
        last = Some(line.category);
        let mut cells = vec![category, line.run.clone(), line.row.name.clone()];
        cells.extend(
            metrics
                .iter()
                .map(|m| line.row.metrics.get(m).map_or("–".into(), |v| number(v, 4))),
        );
        if has_gpt {
            match &line.row.gpt {
                Some(g) => {
                    cells.push(number(g.gpt_rank, 2));
                    for o in &opponents {
                        let own = line.category == RowCategory::Llm && &line.row.name == o;
                        cells.push(match g.beats.get(o) {
                            _ if own => "N/A".into(),
                            Some(v) => number(100.0 * v, 2),
                            None => "–".into(),
                        });
                    }
                    cells
                        .extend(ks.iter().map(|k| {
                            g.top_k.get(k).map_or("–".into(), |v| number(100.0 * v, 2))
                        }));
                }
                None => cells.extend(std::iter::repeat_n(
                    "–".to_owned(),
                    1 + opponents.len() + ks.len(),
                )),
            }
        }
        body.push(cells);
    }
    out.push_str(&markdown(&header, &body));

    let correlated: Vec<_> = lines
        .iter()
        .filter_map(|l| l.row.correlation.map(|c| (l, c)))
        .collect();
    if !correlated.is_empty() {
        out.push('\n');
        let header = [
            "Run",
            "Ranking method",
            "Pearson↑",
            "Spearman↑",
            "Spearman's footrule↓",
        ]
        .map(str::to_owned);
        let body: Vec<Vec<String>> = correlated
            .iter()
            .map(|(l, c)| {
                vec![
                    l.run.clone(),
                    l.row.name.clone(),
                    number(100.0 * c.pearson, 2),
                    number(100.0 * c.spearman, 2),
                    number(c.footrule, 2),
                ]
            })
            .collect();
        out.push_str(&markdown(&header, &body));
    }
    Ok(out)
}

/// The bars of the chart: per metric, the selection score of each run's ranker, then Random and Oracle (mean)
/// of the first report.
pub fn chart_series(runs: &[RunReport]) -> (Vec<String>, Vec<(String, Vec<f64>)>) {
    let mut metrics: Vec<String> = Vec::new();
    for run in runs {
        for m in &run.report.metrics {
            if !metrics.contains(m) {
                metrics.push(m.clone());
            }
        }
    }
    let values = |row: Option<&MethodRow>| -> Vec<f64> {
        metrics
            .iter()
            .map(|m| row.and_then(|r| r.metrics.get(m)).unwrap_or(f64::NAN))
            .collect()
    };
    let mut series: Vec<(String, Vec<f64>)> = runs
        .iter()
        .map(|run| (run.label.clone(), values(run.ranker_row())))
        .collect();
    if let Some(first) = runs.first() {
        for name in ["Random", "Oracle (mean)"] {
            let row = first.report.rows.iter().find(|r| r.name == name);
            if row.is_some() {
                series.push((name.to_owned(), values(row)));
            }
        }
    }
    (metrics, series)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_the_run_directory() {
        assert_eq!(run_label(Path::new("runs/pr/eval/report.json")), "pr");
        assert_eq!(run_label(Path::new("out/simcls/report.json")), "simcls");
        assert_eq!(run_label(Path::new("report.json")), "report");
    }
}
