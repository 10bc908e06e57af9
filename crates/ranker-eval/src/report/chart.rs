//! The bar chart of `ranker report --plot`: per metric, the selection score of each run, Random and the oracle.
//! The font is embedded (DejaVu Sans): CI machines have none installed.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;

use super::across_runs::{chart_series, CompareError, RunReport};

static REGISTER_FONT: Once = Once::new();

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Draws the chart of `runs` as a PNG at `path`, written atomically.
///
/// # Errors
/// No runs, or the image cannot be drawn or moved into place.
pub fn comparison_chart(runs: &[RunReport], path: &Path) -> Result<(), CompareError> {
    if runs.is_empty() {
        return Err(CompareError::Empty);
    }
    REGISTER_FONT.call_once(|| {
        // Registration only fails on a malformed font, and the embedded one is well-formed.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "chart.png".into());
    // The image encoder picks the format from the extension, so the temporary keeps it.
    let temp = path.with_file_name(format!(".tmp-{}-{file_name}", std::process::id()));
    let (metrics, series) = chart_series(runs);
    let result = draw(&temp, &metrics, &series)
        .map_err(|e| CompareError::Chart {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
        .and_then(|()| {
            std::fs::rename(&temp, path).map_err(|e| CompareError::Chart {
                path: path.to_path_buf(),
                message: e.to_string(),
            })
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

fn draw(
    path: &Path,
    metrics: &[String],
    series: &[(String, Vec<f64>)],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::new(path, (960, 540)).into_drawing_area();
    root.fill(&WHITE)?;
    let finite = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((0.0_f64, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let span = (hi - lo).max(1e-6);
    let y_range = (lo - 0.05 * span * f64::from(u8::from(lo < 0.0)))..(hi + 0.12 * span);
    let groups = metrics.len().max(1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Selection score per metric (higher is better)",
            ("sans-serif", 22),
        )
        .margin(14)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..groups, y_range)?;
    let names = metrics.to_vec();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(metrics.len().max(1) * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            if (x - x.floor() - 0.5).abs() < 1e-6 {
                names.get(i).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc("mean score of the selected candidate")
        .draw()?;
    let n = series.len().max(1) as f64;
    let width = 0.8 / n;
    for (s, (name, values)) in series.iter().enumerate() {
        let color = PALETTE[s % PALETTE.len()];
        let bars = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(move |(g, &v)| {
                let x0 = g as f64 + 0.1 + s as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width * 0.9, v)], color.filled())
            });
        chart
            .draw_series(bars)?
            .label(name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    root.present()?;
    Ok(())
}
