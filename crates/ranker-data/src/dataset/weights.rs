//! Metric weights applied to scores at load time (LLM-Blender `METRIC_WEIGHTS`,
//! <https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/data.py>).

/// The factor a score of `metric` is multiplied by at load: 0.01 for the 0–100 metrics (`bleu`, `bleu4`, `cider`,
/// `spice`), 1.0 for every other metric — the listed `rouge*`, `bleurt`, `bertscore`, `bartscore`, `gpt4` and, as
/// in the reference's HEAD, metrics the table does not list (e.g. `human_preference`, `logprobs`).
pub fn metric_weight(metric: &str) -> f64 {
    match metric {
        "bleu" | "bleu4" | "cider" | "spice" => 0.01,
        _ => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hundred_scale_metrics_are_scaled_down_and_the_rest_kept() {
        for metric in ["bleu", "bleu4", "cider", "spice"] {
            assert_eq!(metric_weight(metric), 0.01, "{metric}");
        }
        for metric in [
            "rouge1",
            "rouge2",
            "rougeL",
            "rougeLsum",
            "bleurt",
            "bertscore",
            "bartscore",
            "gpt4",
        ] {
            assert_eq!(metric_weight(metric), 1.0, "{metric}");
        }
        assert_eq!(metric_weight("human_preference"), 1.0);
        assert_eq!(
            metric_weight("BLEU"),
            1.0,
            "names are case-sensitive, as the reference's dict lookup"
        );
    }
}
