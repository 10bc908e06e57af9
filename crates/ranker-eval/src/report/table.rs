//! The console table, in the layout of the paper's Table 2 and its correlation table
//! (LLM-Blender, arXiv 2306.02561).

use super::build::{Report, RowCategory};

/// Renders `report` as two Markdown tables: per method the metric means, GPT-Rank, ≥X (%) and Top-k (%)
/// (candidate models, oracles, random, the ranker), then the correlation of each full ranking with the GPT ranks
/// (Pearson and Spearman ×100 as in the paper, footrule as is). Metric values are printed as stored (after the
/// data's metric weights). The second table and the GPT columns appear only when items are judged.
pub fn render_table(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{} items, mode {}{}, {} forwards; {} judged by ChatGPT\n\n",
        report.n_examples,
        report.mode,
        report
            .aggregation
            .map(|a| format!(" ({})", a.as_str()))
            .unwrap_or_default(),
        report.forwards,
        report.n_gpt_examples,
    ));

    let opponents: Vec<String> = report
        .rows
        .iter()
        .find_map(|r| r.gpt.as_ref())
        .map(|g| g.beats.names().map(str::to_owned).collect())
        .unwrap_or_default();
    let ks: Vec<String> = report
        .rows
        .iter()
        .find_map(|r| r.gpt.as_ref())
        .map(|g| g.top_k.names().map(str::to_owned).collect())
        .unwrap_or_default();
    let has_gpt = report.rows.iter().any(|r| r.gpt.is_some());

    let mut header = vec!["Category".to_owned(), "Method".to_owned()];
    header.extend(report.metrics.iter().map(|m| format!("{m}↑")));
    if has_gpt {
        header.push("GPT-Rank↓".into());
        header.extend(opponents.iter().map(|o| format!("≥{o}(%)↑")));
        header.extend(ks.iter().map(|k| format!("Top-{k}(%)↑")));
    }
    let mut body = Vec::new();
    let mut last_category = None;
    for row in &report.rows {
        let category = if last_category == Some(row.category) {
            String::new()
        } else {
            category_label(row.category).to_owned()
        };
        last_category = Some(row.category);
        let mut cells = vec![category, row.name.clone()];
        cells.extend(row.metrics.values().map(|v| number(v, 4)));
        if has_gpt {
            match &row.gpt {
                Some(g) => {
                    cells.push(number(g.gpt_rank, 2));
                    for (opponent, share) in &g.beats.0 {
                        let own = row.category == RowCategory::Llm && &row.name == opponent;
                        cells.push(if own {
                            "N/A".into()
                        } else {
                            number(100.0 * share, 2)
                        });
                    }
                    cells.extend(g.top_k.values().map(|v| number(100.0 * v, 2)));
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

    let correlated: Vec<_> = report
        .rows
        .iter()
        .filter_map(|r| r.correlation.map(|c| (r, c)))
        .collect();
    if !correlated.is_empty() {
        out.push('\n');
        let header = vec![
            "Ranking method".to_owned(),
            "Pearson↑".to_owned(),
            "Spearman↑".to_owned(),
            "Spearman's footrule↓".to_owned(),
        ];
        let body: Vec<Vec<String>> = correlated
            .iter()
            .map(|(row, c)| {
                let name = row
                    .name
                    .strip_prefix("Oracle (")
                    .and_then(|n| n.strip_suffix(')'))
                    .unwrap_or(&row.name)
                    .to_owned();
                vec![
                    name,
                    number(100.0 * c.pearson, 2),
                    number(100.0 * c.spearman, 2),
                    number(c.footrule, 2),
                ]
            })
            .collect();
        out.push_str(&markdown(&header, &body));
    }
    out
}

pub(crate) fn category_label(category: RowCategory) -> &'static str {
    match category {
        RowCategory::Llm => "LLMs",
        RowCategory::Analysis => "Analysis",
        RowCategory::Ranker => "Rankers",
    }
}

pub(crate) fn number(value: f64, decimals: usize) -> String {
    if value.is_finite() {
        format!("{value:.decimals$}")
    } else {
        "n/a".into()
    }
}

pub(crate) fn markdown(header: &[String], body: &[Vec<String>]) -> String {
    let width = |s: &str| s.chars().count();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            body.iter()
                .map(|row| width(&row[c]))
                .chain([width(&header[c]), 3])
                .max()
                .unwrap_or(3)
        })
        .collect();
    let line = |cells: &[String]| {
        let mut s = String::from("|");
        for (c, cell) in cells.iter().enumerate() {
            s.push(' ');
            s.push_str(cell);
            s.push_str(&" ".repeat(widths[c] - width(cell)));
            s.push_str(" |");
        }
        s.push('\n');
        s
    };
    let mut out = line(header);
    out.push('|');
    for w in &widths {
        out.push_str(&"-".repeat(w + 2));
        out.push('|');
    }
    out.push('\n');
    for row in body {
        out.push_str(&line(row));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_pads_columns_by_characters() {
        let table = markdown(
            &["a".to_owned(), "≥vic".to_owned()],
            &[vec!["long cell".to_owned(), "1".to_owned()]],
        );
        assert_eq!(
            table,
            "| a         | ≥vic |\n|-----------|------|\n| long cell | 1    |\n"
        );
    }
}
