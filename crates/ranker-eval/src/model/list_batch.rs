//! What the listwise scorers ([`SummaRerankerScorer`](super::SummaRerankerScorer),
//! [`SimClsScorer`](super::SimClsScorer)) share: refusing autodiff backends, the lengths of a checkpoint,
//! grouping a batch's items by candidate count, stacking their token rows, and exact ties for duplicates.

use std::path::Path;

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use ranker_models::checkpoint::RankerConfig;
use ranker_models::collate::TokenMatrix;

use crate::error::EvalError;

/// Fails when `B` is an autodiff backend on `device`: burn's dropout (and SummaReranker's gate noise) is active
/// whenever autodiff is, so a training model is evaluated through
/// [`AutodiffModule::valid`](burn::module::AutodiffModule::valid).
pub(crate) fn refuse_autodiff<B: Backend>(device: &B::Device) -> Result<(), EvalError> {
    if B::ad_enabled(device) {
        return Err(EvalError::InvalidOption {
            key: "backend",
            value: "autodiff".into(),
            reason: "evaluation runs the model without autodiff (dropout would stay on); pass \
                     `model.valid()` on the inner backend"
                .into(),
        });
    }
    Ok(())
}

/// `lengths`, else the checkpoint's `source_maxlength` / `candidate_maxlength`.
pub(crate) fn checkpoint_lengths(
    dir: &Path,
    config: &RankerConfig,
    lengths: Option<(usize, usize)>,
) -> Result<(usize, usize), EvalError> {
    if let Some(lengths) = lengths {
        return Ok(lengths);
    }
    match (config.source_maxlength, config.candidate_maxlength) {
        (Some(s), Some(c)) => Ok((s, c)),
        _ => Err(EvalError::InvalidOption {
            key: "source_maxlength / candidate_maxlength",
            value: "null".into(),
            reason: format!(
                "{}: the checkpoint's ranker config does not set them; pass them explicitly",
                dir.display()
            ),
        }),
    }
}

/// For each row, the first row with the same tokens (padding ignored): candidates that are the same model
/// input get the same score exactly, whatever float noise their batch position would add.
pub(crate) fn canonical_rows(matrix: &TokenMatrix) -> Vec<usize> {
    let rows: Vec<Vec<u32>> = (0..matrix.rows).map(|r| matrix.row_tokens(r)).collect();
    (0..rows.len())
        .map(|r| rows.iter().position(|other| *other == rows[r]).unwrap_or(r))
        .collect()
}

/// The items of a batch grouped by candidate count (groups in order of first appearance, items in batch
/// order): the listwise models take `[items, n_candidates]` rectangles, so each group is one forward.
pub(crate) fn groups_by_count(counts: &[usize]) -> Vec<(usize, Vec<usize>)> {
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    for (index, &n) in counts.iter().enumerate() {
        match groups.iter_mut().find(|(count, _)| *count == n) {
            Some((_, members)) => members.push(index),
            None => groups.push((n, vec![index])),
        }
    }
    groups
}

/// The rows of `parts` stacked in order, right-padded with `pad_id` to the widest part.
pub(crate) fn stack_rows(parts: &[&TokenMatrix], pad_id: u32) -> TokenMatrix {
    let cols = parts.iter().map(|m| m.cols).max().unwrap_or(0);
    let rows: usize = parts.iter().map(|m| m.rows).sum();
    let mut ids = Vec::with_capacity(rows * cols);
    let mut mask = Vec::with_capacity(rows * cols);
    for part in parts {
        for r in 0..part.rows {
            ids.extend_from_slice(part.row_ids(r));
            ids.resize(ids.len() + cols - part.cols, pad_id);
            mask.extend_from_slice(part.row_mask(r));
            mask.resize(mask.len() + cols - part.cols, 0);
        }
    }
    TokenMatrix {
        ids,
        mask,
        rows,
        cols,
    }
}

/// Reads a `[items, n]` score tensor as `items` rows of `n`, each reordered so that duplicate candidates
/// (`canonical[i]` of each item) copy the score of their first occurrence.
pub(crate) fn read_scores<B: Backend>(
    scores: Tensor<B, 2>,
    canonical: &[&[usize]],
    what: &'static str,
) -> Result<Vec<Vec<f64>>, EvalError> {
    let [items, n] = scores.dims();
    let values = scores
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .map_err(|e| EvalError::Scorer {
            context: format!("reading the {what} scores"),
            source: format!("{e:?}").into(),
        })?;
    if items != canonical.len() || values.len() != items * n {
        return Err(EvalError::ScorerOutput {
            what,
            found: values.len(),
            expected: canonical.iter().map(|c| c.len()).sum(),
        });
    }
    Ok(values
        .chunks(n.max(1))
        .zip(canonical)
        .map(|(row, canonical)| canonical.iter().map(|&c| f64::from(row[c])).collect())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_keep_batch_order() {
        assert_eq!(
            groups_by_count(&[3, 4, 3, 5, 4]),
            [(3, vec![0, 2]), (4, vec![1, 4]), (5, vec![3])]
        );
        assert!(groups_by_count(&[]).is_empty());
    }

    #[test]
    fn stacking_pads_narrow_parts_and_duplicates_are_found() {
        let a = TokenMatrix::from_rows(&[vec![1, 2, 3], vec![4]], 0, None);
        let b = TokenMatrix::from_rows(&[vec![1, 2, 3, 5, 6]], 0, None);
        let s = stack_rows(&[&a, &b], 9);
        assert_eq!((s.rows, s.cols), (3, 5));
        assert_eq!(s.row_ids(0), &[1, 2, 3, 9, 9]);
        assert_eq!(s.row_mask(1), &[1, 0, 0, 0, 0]);
        assert_eq!(s.row_ids(2), &[1, 2, 3, 5, 6]);
        let dup = TokenMatrix::from_rows(&[vec![7, 8], vec![7], vec![7, 8]], 0, Some(4));
        assert_eq!(canonical_rows(&dup), [0, 1, 0]);
    }
}
