//! GPT-Rank and the selection metrics built on ChatGPT's pairwise judgements
//! (LLM-Blender `gpt_eval/utils.py::get_ranks_from_chatgpt_cmps`, paper Table 2).

use super::cmp_results::{CmpResults, Verdict};
use super::matrix::Matrix;
use super::ranks::competition_ranks;
use crate::MetricsError;

/// The comparison matrix `C` of one example, rows and columns in `models` order:
/// "A is better" adds 1 to `C[a][b]` and −1 to `C[b][a]`, "B is better" the reverse,
/// "Same good" adds 0.5 to both and "Same bad" −0.5 to both.
///
/// Fails when a key names a model not in `models`, or a model is listed twice.
pub fn gpt_cmp_matrix<S: AsRef<str>>(
    cmp: &CmpResults,
    models: &[S],
) -> Result<Matrix, MetricsError> {
    for (i, model) in models.iter().enumerate() {
        let model = model.as_ref();
        if models[..i].iter().any(|m| m.as_ref() == model) {
            return Err(MetricsError::DuplicateModel {
                model: model.to_owned(),
            });
        }
    }
    let index_of = |model: &str, a: &str, b: &str| {
        models
            .iter()
            .position(|m| m.as_ref() == model)
            .ok_or_else(|| MetricsError::UnknownModel {
                key: format!("{a},{b}"),
                model: model.to_owned(),
            })
    };
    let n = models.len();
    let mut c = Matrix::zeros(n, n);
    for (a, b, verdict) in cmp.iter() {
        let (i, j) = (index_of(a, a, b)?, index_of(b, a, b)?);
        let (to_ij, to_ji) = match verdict {
            Verdict::ABetter => (1.0, -1.0),
            Verdict::BBetter => (-1.0, 1.0),
            Verdict::SameGood => (0.5, 0.5),
            Verdict::SameBad => (-0.5, -0.5),
        };
        *c.get_mut(i, j) += to_ij;
        *c.get_mut(j, i) += to_ji;
    }
    Ok(c)
}

/// GPT ranks of one example's candidates: competition ranks of `(C − Cᵀ).sum(-1)`
/// (max-logits over the comparison matrix), 1 = best. "Same good"/"Same bad" cancel,
/// so this is wins minus losses. Empty `cmp` (an example ChatGPT never judged) ranks every
/// candidate 1; callers should leave such examples out, as LLM-Blender's `is_evaluated` does.
pub fn gpt_ranks<S: AsRef<str>>(cmp: &CmpResults, models: &[S]) -> Result<Vec<u32>, MetricsError> {
    let c = gpt_cmp_matrix(cmp, models)?;
    let n = models.len();
    let scores: Vec<f64> = (0..n)
        .map(|i| (0..n).map(|j| c.get(i, j) - c.get(j, i)).sum())
        .collect();
    competition_ranks(&scores)
}

/// GPT-Rank of a selection: the mean over examples of the GPT rank of the selected
/// candidate. `gpt_ranks[e]` are example `e`'s ranks, `selected[e]` the chosen index.
pub fn mean_selected_rank<R: AsRef<[u32]>>(
    gpt_ranks: &[R],
    selected: &[usize],
) -> Result<f64, MetricsError> {
    let ranks = selected_ranks(gpt_ranks, selected, "GPT-Rank")?;
    Ok(ranks.iter().map(|&r| f64::from(r)).sum::<f64>() / ranks.len() as f64)
}

/// Top-k: the share (in `[0, 1]`) of examples whose selected candidate has GPT rank ≤ `k`.
pub fn top_k_rate<R: AsRef<[u32]>>(
    gpt_ranks: &[R],
    selected: &[usize],
    k: u32,
) -> Result<f64, MetricsError> {
    let ranks = selected_ranks(gpt_ranks, selected, "top-k")?;
    Ok(ranks.iter().filter(|&&r| r <= k).count() as f64 / ranks.len() as f64)
}

/// ≥X: the mean (in `[0, 1]`) over examples of [`CmpResults::beat_value`] of the selected
/// model against `opponent` — 1 win, 0.5 "Same good" or same model, 0 loss or "Same bad".
/// `examples[e]` is example `e`'s judgements and the name of the model selected there.
/// Errors name the example.
pub fn beat_rate<S: AsRef<str>>(
    examples: &[(&CmpResults, S)],
    opponent: &str,
) -> Result<f64, MetricsError> {
    if examples.is_empty() {
        return Err(MetricsError::NoExamples { what: "beat rate" });
    }
    let mut sum = 0.0;
    for (e, (cmp, selected)) in examples.iter().enumerate() {
        sum += cmp
            .beat_value(selected.as_ref(), opponent)
            .map_err(|err| err.at_example(e))?;
    }
    Ok(sum / examples.len() as f64)
}

fn selected_ranks<R: AsRef<[u32]>>(
    gpt_ranks: &[R],
    selected: &[usize],
    what: &'static str,
) -> Result<Vec<u32>, MetricsError> {
    if gpt_ranks.len() != selected.len() {
        return Err(MetricsError::BadShape {
            what,
            detail: format!(
                "{} rank rows but {} selections",
                gpt_ranks.len(),
                selected.len()
            ),
        });
    }
    if selected.is_empty() {
        return Err(MetricsError::NoExamples { what });
    }
    gpt_ranks
        .iter()
        .zip(selected)
        .enumerate()
        .map(|(example, (ranks, &index))| {
            let ranks = ranks.as_ref();
            ranks
                .get(index)
                .copied()
                .ok_or(MetricsError::IndexOutOfRange {
                    what,
                    example,
                    index,
                    len: ranks.len(),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(entries: &[(&str, &str)]) -> CmpResults {
        CmpResults::from_entries(entries.iter().copied()).unwrap()
    }

    #[test]
    fn builds_the_comparison_matrix() {
        let c = gpt_cmp_matrix(
            &cmp(&[
                ("x,y", "A is better"),
                ("z,y", "Same good"),
                ("x,z", "Same bad"),
            ]),
            &["x", "y", "z"],
        )
        .unwrap();
        assert_eq!(c.row(0), [0.0, 1.0, -0.5]);
        assert_eq!(c.row(1), [-1.0, 0.0, 0.5]);
        assert_eq!(c.row(2), [-0.5, 0.5, 0.0]);
    }

    #[test]
    fn ranks_by_wins_minus_losses() {
        let results = cmp(&[
            ("x,y", "B is better"),
            ("y,z", "A is better"),
            ("x,z", "Same good"),
        ]);
        assert_eq!(gpt_ranks(&results, &["x", "y", "z"]).unwrap(), [2, 1, 2]);
    }

    #[test]
    fn unknown_and_duplicate_models_are_errors() {
        let err = gpt_ranks(&cmp(&[("x,q", "Same good")]), &["x", "y"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cmp_results key 'x,q': model 'q' is not among the candidates"
        );
        assert!(matches!(
            gpt_ranks(&CmpResults::new(), &["x", "x"]),
            Err(MetricsError::DuplicateModel { .. })
        ));
    }

    #[test]
    fn selection_metrics() {
        let ranks = [vec![1, 2, 3], vec![3, 1, 2], vec![2, 2, 1]];
        let selected = [0, 0, 1];
        assert_eq!(mean_selected_rank(&ranks, &selected).unwrap(), 2.0);
        assert_eq!(top_k_rate(&ranks, &selected, 1).unwrap(), 1.0 / 3.0);
        assert_eq!(top_k_rate(&ranks, &selected, 2).unwrap(), 2.0 / 3.0);
        let err = top_k_rate(&ranks, &[0, 0, 3], 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "top-k: example 2 selects candidate 3 but has 3 candidates"
        );
    }

    #[test]
    fn beat_rate_averages_and_names_the_failing_example() {
        let a = cmp(&[("s,v", "A is better")]);
        let b = cmp(&[("v,s", "Same good")]);
        assert_eq!(
            beat_rate(&[(&a, "s"), (&b, "s"), (&a, "v")], "v").unwrap(),
            2.0 / 3.0
        );
        let err = beat_rate(&[(&a, "s"), (&b, "t")], "v").unwrap_err();
        assert_eq!(err.to_string(), "example 1");
        assert!(matches!(
            err,
            MetricsError::AtExample { example: 1, source } if matches!(*source, MetricsError::MissingVerdict { .. })
        ));
    }
}
