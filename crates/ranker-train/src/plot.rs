//! Training-curve plots (`loss.png`, `dev_score.png`) drawn from `metrics.jsonl`, so a user can
//! look rather than read. The font is embedded (DejaVu Sans): CI machines have none installed.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;

use crate::error::TrainError;

static REGISTER_FONT: Once = Once::new();

/// Draws `series` (x = step) as a line chart PNG at `path`, written atomically.
pub fn line_chart(
    path: &Path,
    title: &str,
    y_label: &str,
    series: &[(f64, f64)],
) -> Result<(), TrainError> {
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
        .unwrap_or_else(|| "plot.png".into());
    // The image encoder picks the format from the extension, so the temporary keeps `.png`.
    let temp = path.with_file_name(format!(".tmp-{}-{file_name}", std::process::id()));
    let result = draw(&temp, title, y_label, series)
        .map_err(|e| TrainError::Plot {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
        .and_then(|()| {
            std::fs::rename(&temp, path).map_err(|source| TrainError::Io {
                path: path.to_path_buf(),
                source,
            })
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

fn draw(
    path: &Path,
    title: &str,
    y_label: &str,
    series: &[(f64, f64)],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let (x_min, x_max) = bounds(series.iter().map(|p| p.0));
    let (y_min, y_max) = bounds(series.iter().map(|p| p.1));
    let pad = ((y_max - y_min) * 0.05).max(1e-9);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(x_min..x_max, (y_min - pad)..(y_max + pad))?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc(y_label)
        .draw()?;
    chart.draw_series(LineSeries::new(
        series.iter().copied(),
        BLUE.stroke_width(2),
    ))?;
    if series.len() <= 50 {
        chart.draw_series(series.iter().map(|&p| Circle::new(p, 3, BLUE.filled())))?;
    }
    root.present()?;
    Ok(())
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        (0.0, 1.0)
    } else if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_png_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss.png");
        let series: Vec<(f64, f64)> = (0..30)
            .map(|i| (i as f64, 1.0 / (1.0 + i as f64)))
            .collect();
        line_chart(&path, "training loss", "loss", &series).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        line_chart(&dir.path().join("one.png"), "one point", "x", &[(1.0, 2.0)]).unwrap();
        line_chart(&dir.path().join("none.png"), "empty", "x", &[]).unwrap();
    }
}
