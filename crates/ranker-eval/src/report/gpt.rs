//! The ChatGPT-judged metrics of a selection: GPT-Rank, ≥X beats, Top-k, and rank correlations with the GPT ranks.
// https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/gpt_eval/utils.py#L74
// https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/gpt_eval/cor_eval.py

use ranker_data::Example;
use ranker_metrics::{
    cor_pearson, cor_spearman, gpt_ranks, mean_selected_rank, spearman_footrule, top_k_rate,
    CmpResults, Matrix, MetricsError,
};
use serde::{Deserialize, Serialize};

use super::values::{finite_or_null, NamedValues};
use crate::error::EvalError;

/// What to do with `cmp_results` keys naming a model that is not among an item's candidates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CmpPolicy {
    /// It is an error naming the item (data whose candidates were not filtered).
    #[default]
    Strict,
    /// Such pairs are dropped: for data loaded with a candidate filter (`data.candidate_models`,
    /// `data.decoding_methods`, `data.n_candidates`), whose judgements still name the removed models.
    IgnoreAbsent,
}

/// Options of the GPT metrics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GptOptions {
    /// Opponents X of the "≥X" columns. `None`: every candidate model of the first judged item, in its order
    /// (the CLI passes `data.candidate_models` when it is set).
    pub beat_models: Option<Vec<String>>,
    /// The k of the Top-k columns.
    pub top_k: Vec<u32>,
    /// Judgements naming models that are not candidates.
    pub cmp_policy: CmpPolicy,
}

impl Default for GptOptions {
    fn default() -> Self {
        Self {
            beat_models: None,
            top_k: vec![1, 2, 3],
            cmp_policy: CmpPolicy::Strict,
        }
    }
}

/// GPT-Rank, ≥X and Top-k of one way of selecting a candidate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GptSummary {
    /// Mean GPT rank of the selection (1 = best; lower is better).
    #[serde(with = "finite_or_null")]
    pub gpt_rank: f64,
    /// Per opponent, the share in `[0, 1]` of items where ChatGPT judged the selection at least as good
    /// (win 1, "Same good" 0.5, "Same bad" 0, the opponent itself 0.5).
    pub beats: NamedValues,
    /// Per k (`"1"`, `"2"`, …), the share of items whose selection has GPT rank ≤ k.
    pub top_k: NamedValues,
}

/// Rank correlations with the GPT ranks over the judged items (`cor_eval.py`): Pearson and Spearman per
/// candidate model across items, averaged over models; Spearman's footrule per item, averaged over items.
/// Undefined values (a constant column) are `null`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Correlations {
    /// Mean per-model Pearson correlation (higher is better).
    #[serde(with = "finite_or_null")]
    pub pearson: f64,
    /// Mean per-model Spearman correlation (higher is better).
    #[serde(with = "finite_or_null")]
    pub spearman: f64,
    /// Mean Spearman footrule `Σ_i |r_i − r'_i|` (lower is better).
    #[serde(with = "finite_or_null")]
    pub footrule: f64,
}

/// One judged item.
#[derive(Clone, Debug)]
pub(crate) struct JudgedItem {
    /// Position in the examples.
    pub position: usize,
    /// The candidates' models.
    pub models: Vec<String>,
    /// The verdicts (restricted to the candidates under [`CmpPolicy::IgnoreAbsent`]).
    pub cmp: CmpResults,
    /// GPT ranks of the candidates.
    pub ranks: Vec<u32>,
}

/// The judged items of a dataset and the ≥X opponents.
#[derive(Clone, Debug)]
pub(crate) struct Judged {
    pub items: Vec<JudgedItem>,
    pub opponents: Vec<String>,
    pub top_k: Vec<u32>,
}

fn judged_pairs_complete(cmp: &CmpResults, models: &[String]) -> bool {
    models.iter().enumerate().all(|(i, a)| {
        models[i + 1..]
            .iter()
            .all(|b| a == b || cmp.get(a, b).is_some() || cmp.get(b, a).is_some())
    })
}

/// The items whose `cmp_results` judge every pair of their candidate models (LLM-Blender's `is_evaluated`);
/// others are left out of the GPT metrics. `None` when no item is judged.
pub(crate) fn judged_items(
    examples: &[Example],
    options: &GptOptions,
) -> Result<Option<Judged>, EvalError> {
    let mut items = Vec::new();
    for (position, example) in examples.iter().enumerate() {
        let Some(field) = &example.cmp_results else {
            continue;
        };
        let models: Vec<String> = example.models.iter().map(|m| m.to_string()).collect();
        let at_item = |e| EvalError::at_item(position, &example.id, e);
        let cmp = match options.cmp_policy {
            CmpPolicy::Strict => field.results().clone(),
            CmpPolicy::IgnoreAbsent => {
                let mut kept = CmpResults::new();
                for (a, b, verdict) in field.results().iter() {
                    if models.iter().any(|m| m == a) && models.iter().any(|m| m == b) {
                        kept.insert(a, b, verdict);
                    }
                }
                kept
            }
        };
        // Validates model names (and duplicates) for every item that has judgements, complete or not.
        let ranks = gpt_ranks(&cmp, &models).map_err(at_item)?;
        if cmp.is_empty() || !judged_pairs_complete(&cmp, &models) {
            continue;
        }
        items.push(JudgedItem {
            position,
            models,
            cmp,
            ranks,
        });
    }
    let Some(first) = items.first() else {
        return Ok(None);
    };
    // Correlations and the per-model rows compare candidates per model across items (the reference asserts it).
    for item in &items[1..] {
        if item.models != first.models {
            return Err(EvalError::ModelsDiffer {
                index: item.position,
                id: examples[item.position].id.clone(),
                found: item.models.clone(),
                expected: first.models.clone(),
                first_index: first.position,
                what: "rank correlation with GPT ranks",
            });
        }
    }
    let opponents = options
        .beat_models
        .clone()
        .unwrap_or_else(|| first.models.clone());
    for item in &items {
        if let Some(model) = opponents.iter().find(|o| !item.models.contains(o)) {
            return Err(EvalError::UnknownOpponent {
                index: item.position,
                id: examples[item.position].id.clone(),
                model: model.clone(),
                models: item.models.clone(),
            });
        }
    }
    Ok(Some(Judged {
        items,
        opponents,
        top_k: options.top_k.clone(),
    }))
}

impl Judged {
    /// GPT-Rank, beats and Top-k of `selected[i]`, the candidate chosen in judged item `i`.
    pub fn summarize(
        &self,
        examples: &[Example],
        selected: &[usize],
    ) -> Result<GptSummary, EvalError> {
        let ranks: Vec<&[u32]> = self.items.iter().map(|i| i.ranks.as_slice()).collect();
        let metric = |what| move |source| EvalError::Metric { what, source };
        let gpt_rank = mean_selected_rank(&ranks, selected).map_err(metric("GPT-Rank"))?;
        let top_k = self
            .top_k
            .iter()
            .map(|&k| {
                Ok((
                    k.to_string(),
                    top_k_rate(&ranks, selected, k).map_err(metric("Top-k"))?,
                ))
            })
            .collect::<Result<Vec<_>, EvalError>>()?;
        let mut beats = Vec::with_capacity(self.opponents.len());
        for opponent in &self.opponents {
            let mut sum = 0.0;
            for (item, &choice) in self.items.iter().zip(selected) {
                sum += self.beat_value(examples, item, choice, opponent)?;
            }
            beats.push((opponent.clone(), sum / self.items.len() as f64));
        }
        Ok(GptSummary {
            gpt_rank,
            beats: NamedValues(beats),
            top_k: NamedValues(top_k),
        })
    }

    /// The expected GPT-Rank, beats and Top-k of a uniformly random candidate: per item the mean over its
    /// candidates, averaged over items.
    pub fn summarize_random(&self, examples: &[Example]) -> Result<GptSummary, EvalError> {
        let n = self.items.len() as f64;
        let mean_over_candidates = |item: &JudgedItem, f: &dyn Fn(usize) -> f64| {
            (0..item.ranks.len()).map(f).sum::<f64>() / item.ranks.len() as f64
        };
        let gpt_rank = self
            .items
            .iter()
            .map(|item| mean_over_candidates(item, &|c| f64::from(item.ranks[c])))
            .sum::<f64>()
            / n;
        let top_k = self
            .top_k
            .iter()
            .map(|&k| {
                let share = self
                    .items
                    .iter()
                    .map(|item| {
                        mean_over_candidates(item, &|c| f64::from(u8::from(item.ranks[c] <= k)))
                    })
                    .sum::<f64>()
                    / n;
                (k.to_string(), share)
            })
            .collect();
        let mut beats = Vec::with_capacity(self.opponents.len());
        for opponent in &self.opponents {
            let mut sum = 0.0;
            for item in &self.items {
                let mut item_sum = 0.0;
                for c in 0..item.models.len() {
                    item_sum += self.beat_value(examples, item, c, opponent)?;
                }
                sum += item_sum / item.models.len() as f64;
            }
            beats.push((opponent.clone(), sum / n));
        }
        Ok(GptSummary {
            gpt_rank,
            beats: NamedValues(beats),
            top_k: NamedValues(top_k),
        })
    }

    fn beat_value(
        &self,
        examples: &[Example],
        item: &JudgedItem,
        candidate: usize,
        opponent: &str,
    ) -> Result<f64, EvalError> {
        item.cmp
            .beat_value(&item.models[candidate], opponent)
            .map_err(|e| EvalError::at_item(item.position, &examples[item.position].id, e))
    }

    /// Correlations of `ranks[i]` (a ranking of judged item `i`'s candidates) with the GPT ranks (the judged items
    /// have the same candidate models in the same order: [`judged_items`] checks it).
    pub fn correlations(&self, ranks: &[&[u32]]) -> Result<Correlations, EvalError> {
        let metric = |what| move |source: MetricsError| EvalError::Metric { what, source };
        let hypothesis = Matrix::from_rank_rows(ranks).map_err(metric("rank correlations"))?;
        let gpt: Vec<&[u32]> = self.items.iter().map(|i| i.ranks.as_slice()).collect();
        let reference = Matrix::from_rank_rows(&gpt).map_err(metric("rank correlations"))?;
        Ok(Correlations {
            pearson: cor_pearson(&hypothesis, &reference).map_err(metric("Pearson correlation"))?,
            spearman: cor_spearman(&hypothesis, &reference)
                .map_err(metric("Spearman correlation"))?,
            footrule: spearman_footrule(&hypothesis, &reference)
                .map_err(metric("Spearman footrule"))?,
        })
    }

    /// For each judged item, the first candidate with the best GPT rank (Oracle (GPT-Rank)).
    pub fn gpt_oracle(&self) -> Vec<usize> {
        self.items
            .iter()
            .map(|item| {
                let best = item.ranks.iter().min().copied().unwrap_or(1);
                item.ranks.iter().position(|&r| r == best).unwrap_or(0)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ranker_data::{CmpField, ScoreMatrix};

    use super::*;

    fn example(id: &str, models: &[&str], cmp: Option<&[(&str, &str)]>) -> Example {
        let n = models.len();
        Example {
            id: id.into(),
            source: String::new(),
            target: String::new(),
            candidates: vec![String::new(); n],
            models: models.iter().map(|m| Arc::from(*m)).collect(),
            scores: ScoreMatrix::new(1, vec![0.0; n]).unwrap(),
            cmp_results: cmp.map(|entries| {
                CmpField::object(CmpResults::from_entries(entries.iter().copied()).unwrap())
            }),
        }
    }

    #[test]
    fn only_fully_judged_items_count() {
        let full: &[(&str, &str)] = &[
            ("a,b", "A is better"),
            ("c,a", "Same good"),
            ("b,c", "B is better"),
        ];
        let partial: &[(&str, &str)] = &[("a,b", "A is better")];
        let examples = vec![
            example("0", &["a", "b", "c"], Some(full)),
            example("1", &["a", "b", "c"], None),
            example("2", &["a", "b", "c"], Some(partial)),
            example("3", &["a", "b", "c"], Some(&[])),
        ];
        let judged = judged_items(&examples, &GptOptions::default())
            .unwrap()
            .unwrap();
        assert_eq!(judged.items.len(), 1);
        assert_eq!(judged.items[0].ranks, [1, 3, 1]);
        assert_eq!(judged.opponents, ["a", "b", "c"]);
        let s = judged.summarize(&examples, &[1]).unwrap();
        assert_eq!(s.gpt_rank, 3.0);
        assert_eq!(
            s.beats.0,
            [("a".into(), 0.0), ("b".into(), 0.5), ("c".into(), 0.0)]
        );
        assert_eq!(judged.gpt_oracle(), [0]);
    }

    #[test]
    fn unknown_models_are_errors_unless_filtered_out_on_purpose() {
        let cmp: &[(&str, &str)] = &[("a,b", "A is better"), ("a,zz", "Same bad")];
        let examples = vec![example("x/7", &["a", "b"], Some(cmp))];
        let err = judged_items(&examples, &GptOptions::default()).unwrap_err();
        assert_eq!(
            err.chain_line(),
            r#"item 0 (id "x/7"): cmp_results key 'a,zz': model 'zz' is not among the candidates"#
        );
        let lenient = GptOptions {
            cmp_policy: CmpPolicy::IgnoreAbsent,
            ..Default::default()
        };
        assert_eq!(
            judged_items(&examples, &lenient)
                .unwrap()
                .unwrap()
                .items
                .len(),
            1
        );
        let err = judged_items(
            &examples,
            &GptOptions {
                beat_models: Some(vec!["vicuna".into()]),
                ..lenient
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("beats opponent 'vicuna'"), "{err}");
    }
}
