//! Correlation of a ranker's ranks with reference (GPT) ranks, as LLM-Blender's
//! `gpt_eval/cor_eval.py`.
//!
//! Inputs are `[examples, candidates]` rank matrices. Pearson and Spearman are computed
//! per candidate index (column) across examples, then averaged over columns with a plain
//! mean, exactly as `cor_pearson` / `cor_spearman` do. Like `np.corrcoef` and
//! `scipy.stats.spearmanr`, a column with fewer than two examples, a constant column or a
//! NaN gives NaN for that column, and the plain mean then reports NaN: the value is not
//! defined, and no column is silently dropped. The per-column functions let a caller see
//! which column it was.

use super::matrix::Matrix;
use crate::MetricsError;

/// `np.corrcoef(x, y)[0, 1]`: the Pearson correlation, clipped to `[-1, 1]`. NaN when
/// there are fewer than two values, either input is constant, or a value is NaN.
pub fn pearson(x: &[f64], y: &[f64]) -> Result<f64, MetricsError> {
    check_same_len(x, y)?;
    Ok(pearson_unchecked(x, y))
}

/// `scipy.stats.spearmanr(x, y).statistic`: Pearson of the average ranks
/// ([`rank_average`]). NaN in the same cases as [`pearson`].
pub fn spearman(x: &[f64], y: &[f64]) -> Result<f64, MetricsError> {
    check_same_len(x, y)?;
    if x.len() < 2 || has_nan(x) || has_nan(y) || is_constant(x) || is_constant(y) {
        return Ok(f64::NAN);
    }
    Ok(pearson_unchecked(&rank_average(x), &rank_average(y)))
}

/// `scipy.stats.rankdata(values, method="average")`: 1-based ranks in ascending order,
/// ties get the mean of the positions they span. NaN values rank last among themselves
/// in input order (scipy would return all NaN; callers here never rank NaN).
pub fn rank_average(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // positions start..end (0-based) hold equal values: ranks start+1 ..= end.
        let rank = (start + 1 + end) as f64 / 2.0;
        for &index in &order[start..end] {
            ranks[index] = rank;
        }
        start = end;
    }
    ranks
}

/// Per-column [`pearson`] between `hypothesis` and `reference` rank matrices.
pub fn pearson_per_column(
    hypothesis: &Matrix,
    reference: &Matrix,
) -> Result<Vec<f64>, MetricsError> {
    per_column(hypothesis, reference, "Pearson correlation", pearson)
}

/// Per-column [`spearman`] between `hypothesis` and `reference` rank matrices.
pub fn spearman_per_column(
    hypothesis: &Matrix,
    reference: &Matrix,
) -> Result<Vec<f64>, MetricsError> {
    per_column(hypothesis, reference, "Spearman correlation", spearman)
}

/// `cor_pearson`: the mean over columns of [`pearson_per_column`] (NaN if any column is).
pub fn cor_pearson(hypothesis: &Matrix, reference: &Matrix) -> Result<f64, MetricsError> {
    Ok(plain_mean(&pearson_per_column(hypothesis, reference)?))
}

/// `cor_spearman`: the mean over columns of [`spearman_per_column`] (NaN if any column is).
pub fn cor_spearman(hypothesis: &Matrix, reference: &Matrix) -> Result<f64, MetricsError> {
    Ok(plain_mean(&spearman_per_column(hypothesis, reference)?))
}

/// `cor_spearman_footrule`: the mean over examples of `Σ_i |r_i − r'_i|` (lower is better).
pub fn spearman_footrule(hypothesis: &Matrix, reference: &Matrix) -> Result<f64, MetricsError> {
    check_rank_matrices(hypothesis, reference, "Spearman footrule")?;
    let per_example: Vec<f64> = (0..hypothesis.rows())
        .map(|e| {
            hypothesis
                .row(e)
                .iter()
                .zip(reference.row(e))
                .map(|(h, r)| (h - r).abs())
                .sum()
        })
        .collect();
    Ok(plain_mean(&per_example))
}

fn per_column(
    hypothesis: &Matrix,
    reference: &Matrix,
    what: &'static str,
    correlation: fn(&[f64], &[f64]) -> Result<f64, MetricsError>,
) -> Result<Vec<f64>, MetricsError> {
    check_rank_matrices(hypothesis, reference, what)?;
    (0..hypothesis.cols())
        .map(|j| correlation(&hypothesis.column(j), &reference.column(j)))
        .collect()
}

fn check_rank_matrices(
    hypothesis: &Matrix,
    reference: &Matrix,
    what: &'static str,
) -> Result<(), MetricsError> {
    hypothesis.check_same_shape(reference, what)?;
    if hypothesis.rows() == 0 || hypothesis.cols() == 0 {
        return Err(MetricsError::NoExamples { what });
    }
    Ok(())
}

fn check_same_len(x: &[f64], y: &[f64]) -> Result<(), MetricsError> {
    if x.len() != y.len() {
        return Err(MetricsError::BadShape {
            what: "correlation inputs",
            detail: format!("lengths differ: {} vs {}", x.len(), y.len()),
        });
    }
    Ok(())
}

/// `np.corrcoef` arithmetic: centre, covariance over `n − 1`, divide by each standard
/// deviation in turn, clip.
fn pearson_unchecked(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len();
    if n < 2 || is_constant(x) || is_constant(y) {
        return f64::NAN;
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / n as f64;
    let (mx, my) = (mean(x), mean(y));
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for (&a, &b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    let dof = (n - 1) as f64;
    let r = sxy / dof / (sxx / dof).sqrt() / (syy / dof).sqrt();
    // NaN passes through the clip, as with np.clip.
    if r.is_nan() {
        r
    } else {
        r.clamp(-1.0, 1.0)
    }
}

fn is_constant(v: &[f64]) -> bool {
    v.iter().all(|&x| x == v[0])
}

fn has_nan(v: &[f64]) -> bool {
    v.iter().any(|x| x.is_nan())
}

/// `sum(values) / len`, summing left to right, as the reference's `cor += …; cor /= c`.
fn plain_mean(values: &[f64]) -> f64 {
    values.iter().fold(0.0, |acc, &v| acc + v) / values.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_ranks_share_ties() {
        assert_eq!(rank_average(&[10.0, 20.0, 10.0, 5.0]), [2.5, 4.0, 2.5, 1.0]);
    }

    #[test]
    fn perfect_and_inverse_correlations() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(pearson(&x, &[2.0, 4.0, 6.0, 8.0]).unwrap(), 1.0));
        assert!(close(spearman(&x, &[1.0, 8.0, 27.0, 64.0]).unwrap(), 1.0));
        assert!(close(spearman(&x, &[4.0, 3.0, 2.0, 1.0]).unwrap(), -1.0));
    }

    #[test]
    fn undefined_correlations_are_nan() {
        assert!(pearson(&[1.0, 1.0], &[1.0, 2.0]).unwrap().is_nan());
        assert!(spearman(&[3.0], &[1.0]).unwrap().is_nan());
        assert!(pearson(&[1.0, f64::NAN, 3.0], &[1.0, 2.0, 3.0])
            .unwrap()
            .is_nan());
        let h = Matrix::from_rows(&[vec![1.0, 2.0], vec![1.0, 1.0]]).unwrap();
        let r = Matrix::from_rows(&[vec![1.0, 2.0], vec![2.0, 1.0]]).unwrap();
        let cols = pearson_per_column(&h, &r).unwrap();
        assert!(cols[0].is_nan());
        assert!((cols[1] - 1.0).abs() < 1e-12);
        assert!(cor_pearson(&h, &r).unwrap().is_nan());
    }

    #[test]
    fn footrule_is_the_mean_absolute_rank_distance() {
        let h = Matrix::from_rows(&[vec![1.0, 2.0, 3.0], vec![3.0, 2.0, 1.0]]).unwrap();
        let r = Matrix::from_rows(&[vec![1.0, 2.0, 3.0], vec![1.0, 2.0, 3.0]]).unwrap();
        assert_eq!(spearman_footrule(&h, &r).unwrap(), 2.0);
    }

    #[test]
    fn shape_errors_name_the_metric() {
        let err = cor_spearman(&Matrix::zeros(2, 3), &Matrix::zeros(3, 2)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Spearman correlation: shapes differ: 2×3 vs 3×2"
        );
        let err = spearman_footrule(&Matrix::zeros(0, 3), &Matrix::zeros(0, 3)).unwrap_err();
        assert_eq!(err.to_string(), "Spearman footrule: no examples");
    }
}
