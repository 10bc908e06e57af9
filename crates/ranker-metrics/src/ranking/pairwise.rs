//! Candidate scores from a full pairwise logit matrix (PairRanker's "full" mode).
//!
//! `M[i][j]` is the ranker's logit with candidate `i` in the first slot and `j` in the
//! second; positive means `i` is better. The diagonal is normally zero.

use super::matrix::Matrix;
use crate::MetricsError;

/// Max-logits aggregation: `s_i = (1/n) Σ_j (M_ij − M_ji)`, the mean over all `j`
/// including the (zero) diagonal, as LLM-Blender's `get_scores_from_cmps("max_logits")`.
pub fn max_logits_scores(logits: &Matrix) -> Result<Vec<f64>, MetricsError> {
    let n = logits.check_square("pairwise logits")?;
    Ok((0..n)
        .map(|i| {
            let sum: f64 = (0..n).map(|j| logits.get(i, j) - logits.get(j, i)).sum();
            sum / n as f64
        })
        .collect())
}

/// Max-wins aggregation: `s_i = Σ_j 1[M_ij > 0] + Σ_j 1[M_ji < 0]`, wins as the first
/// item plus wins as the second, as LLM-Blender's `get_ranks_from_cmps("max_wins")`.
///
/// The reference's `get_scores_from_cmps("max_wins")` takes a mean instead of a sum for
/// the second term; that bug is not reproduced.
pub fn max_wins_scores(logits: &Matrix) -> Result<Vec<f64>, MetricsError> {
    let n = logits.check_square("pairwise logits")?;
    Ok((0..n)
        .map(|i| {
            let wins = (0..n).filter(|&j| logits.get(i, j) > 0.0).count()
                + (0..n).filter(|&j| logits.get(j, i) < 0.0).count();
            wins as f64
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix() -> Matrix {
        Matrix::from_rows(&[
            vec![0.0, 2.0, -1.0],
            vec![-1.0, 0.0, 0.5],
            vec![1.0, -0.5, 0.0],
        ])
        .unwrap()
    }

    #[test]
    fn max_logits_is_the_mean_of_the_antisymmetric_part() {
        let s = max_logits_scores(&matrix()).unwrap();
        assert_eq!(
            s,
            [(3.0 - 2.0) / 3.0, (-3.0 + 1.0) / 3.0, (2.0 - 1.0) / 3.0]
        );
    }

    #[test]
    fn max_wins_counts_both_orders() {
        // Candidate 0 wins M_01 > 0 as first and M_10 < 0 as second; likewise for 1 and 2.
        assert_eq!(max_wins_scores(&matrix()).unwrap(), [2.0, 2.0, 2.0]);
    }

    #[test]
    fn rejects_non_square_input() {
        let err = max_logits_scores(&Matrix::zeros(2, 3)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "pairwise logits: expected a square matrix, got 2×3"
        );
    }
}
