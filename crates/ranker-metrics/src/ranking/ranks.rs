//! Scores to ranks, as LLM-Blender's `get_ranks_from_scores`.

use crate::MetricsError;

/// Competition ranks ("1224") of `scores`, higher score = better = lower rank:
/// `rank = 1 + index of the first occurrence in the descending-sorted list`, so ties share
/// the best rank of their group. `0.0` and `-0.0` tie; infinities rank as usual.
///
/// Fails on NaN, which has no place in a sorted list (the reference raises there too).
pub fn competition_ranks(scores: &[f64]) -> Result<Vec<u32>, MetricsError> {
    if let Some(index) = scores.iter().position(|s| s.is_nan()) {
        return Err(MetricsError::NanScore {
            what: "scores to rank",
            index,
        });
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut ranks = vec![0u32; scores.len()];
    for (position, &index) in order.iter().enumerate() {
        // total_cmp orders -0.0 below 0.0; equality (==) decides ties as Python does.
        ranks[index] = if position > 0 && scores[order[position - 1]] == scores[index] {
            ranks[order[position - 1]]
        } else {
            position as u32 + 1
        };
    }
    Ok(ranks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_the_best_rank() {
        assert_eq!(
            competition_ranks(&[0.5, 0.9, 0.5, 0.1]).unwrap(),
            [2, 1, 2, 4]
        );
        assert_eq!(competition_ranks(&[1.0, 1.0, 1.0]).unwrap(), [1, 1, 1]);
        assert_eq!(competition_ranks(&[]).unwrap(), Vec::<u32>::new());
    }

    #[test]
    fn signed_zeros_tie_and_infinities_sort() {
        assert_eq!(
            competition_ranks(&[0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY]).unwrap(),
            [2, 2, 1, 4]
        );
    }

    #[test]
    fn rejects_nan() {
        let err = competition_ranks(&[1.0, f64::NAN]).unwrap_err();
        assert_eq!(err.to_string(), "scores to rank: value 1 is NaN");
    }
}
