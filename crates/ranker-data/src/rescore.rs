//! `ranker data score`: recompute candidate metric scores against the reference output, in parallel, keeping
//! every other field of every item.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use ranker_metrics::{MetricsError, TextScorer};
use rayon::prelude::*;

use crate::atomic::ItemWriter;
use crate::error::DataError;
use crate::read::{read_items, ItemLocation};
use crate::schema::{MixItem, Output};

/// Items held in memory at once: large enough to keep every core busy, small enough for any file size.
const CHUNK_ITEMS: usize = 2048;

/// Sets `scorer`'s metrics in the `scores` of every candidate of `item` (replacing a metric in place, appending a
/// new one), scoring each candidate text against the item's reference outputs (all of them when `output` is a
/// list, as the reference's `eval_candidates` does). Other scores and fields are kept.
pub fn rescore_item(item: &mut MixItem, scorer: &TextScorer) -> Result<(), MetricsError> {
    let references = match &item.output {
        Output::Text(text) => scorer.prepare_references(std::slice::from_ref(text))?,
        Output::List(list) => scorer.prepare_references(list)?,
    };
    for candidate in &mut item.candidates {
        for (metric, value) in scorer.score_prepared(&candidate.text, &references)?.iter() {
            candidate.scores.insert(metric.name(), value);
        }
    }
    Ok(())
}

/// Streams `input` to `output` (format by each one's extension), rescoring every item with [`rescore_item`] on
/// the rayon thread pool, a chunk of items at a time. `progress` is called (from worker threads) with the number
/// of items done so far. `output` is written atomically and may be `input` itself. Returns the item count.
pub fn rescore_file(
    input: &Path,
    output: &Path,
    scorer: &TextScorer,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<usize, DataError> {
    let mut writer = ItemWriter::create(output)?;
    let done = AtomicUsize::new(0);
    let mut chunk: Vec<(ItemLocation, MixItem)> = Vec::with_capacity(CHUNK_ITEMS);
    let mut flush = |chunk: &mut Vec<(ItemLocation, MixItem)>| -> Result<(), DataError> {
        let results: Vec<Result<(), DataError>> = chunk
            .par_iter_mut()
            .map(|(at, item)| {
                let scored = rescore_item(item, scorer).map_err(|source| DataError::Metric {
                    at: Box::new(at.clone()),
                    source,
                });
                progress(done.fetch_add(1, Ordering::Relaxed) + 1);
                scored
            })
            .collect();
        results.into_iter().collect::<Result<(), DataError>>()?;
        for (_, item) in chunk.drain(..) {
            writer.push(&item)?;
        }
        Ok(())
    };
    read_items(input, None, |at, item| {
        chunk.push((at, item));
        if chunk.len() == CHUNK_ITEMS {
            flush(&mut chunk)?;
        }
        Ok(())
    })?;
    flush(&mut chunk)?;
    writer.finish()
}

/// Counts the items of a `.json` / `.jsonl` file (e.g. to size a progress bar), reading it as a stream.
pub fn count_items(path: &Path) -> Result<usize, DataError> {
    read_items(path, None, |_, _| Ok(()))
}

#[cfg(test)]
mod tests {
    use ranker_metrics::TextMetric;

    use super::*;

    fn item() -> MixItem {
        serde_json::from_value(serde_json::json!({
            "id": "x/1", "instruction": "", "input": "q", "output": "the cat sat on the mat",
            "source": "kept",
            "candidates": [
                {"model": "m1", "decoding_method": "d", "text": "the cat sat on the mat",
                 "scores": {"bartscore": -2.5, "rouge1": 0.0}, "extra": [1]},
                {"model": "m2", "decoding_method": "d", "text": "a dog", "scores": {}}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn sets_the_chosen_metrics_and_keeps_the_rest() {
        let scorer = TextScorer::new(&[TextMetric::Rouge1, TextMetric::Bleu]).unwrap();
        let mut item = item();
        rescore_item(&mut item, &scorer).unwrap();
        let first = &item.candidates[0];
        assert_eq!(
            first.scores.names().collect::<Vec<_>>(),
            ["bartscore", "rouge1", "bleu"]
        );
        assert_eq!(first.scores.get("rouge1").unwrap().as_f64(), Some(1.0));
        let bleu = first.scores.get("bleu").unwrap().as_f64().unwrap();
        assert!(
            (bleu - 100.0).abs() < 1e-9,
            "identical text: BLEU 100, got {bleu}"
        );
        assert_eq!(first.scores.get("bartscore").unwrap().as_f64(), Some(-2.5));
        assert_eq!(first.extra["extra"], serde_json::json!([1]));
        assert_eq!(item.extra["source"], "kept");
        let second = &item.candidates[1];
        assert_eq!(second.scores.get("rouge1").unwrap().as_f64(), Some(0.0));
    }

    #[test]
    fn scores_against_every_listed_output() {
        let scorer = TextScorer::new(&[TextMetric::Rouge1]).unwrap();
        let mut item = item();
        item.output = Output::List(vec!["something else".into(), "a dog".into()]);
        rescore_item(&mut item, &scorer).unwrap();
        assert_eq!(
            item.candidates[1].scores.get("rouge1").unwrap().as_f64(),
            Some(1.0)
        );
    }
}
