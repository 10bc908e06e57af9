//! Generating synthetic items.

use std::path::Path;

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use ranker_metrics::{TextMetric, TextScorer};
use rayon::prelude::*;

use super::options::SynthOptions;
use super::verdicts::verdicts;
use super::vocab::{CONTENT_WORDS, INSTRUCTIONS, JUNK_WORDS};
use crate::atomic::ItemWriter;
use crate::dataset::metric_weight;
use crate::error::DataError;
use crate::schema::{CmpField, ItemId, MixCandidate, MixItem, Output, ScoreMap};

/// The metrics every synthetic candidate is scored with, in `scores` order.
pub const SYNTH_METRICS: [TextMetric; 5] = [
    TextMetric::Rouge1,
    TextMetric::Rouge2,
    TextMetric::RougeL,
    TextMetric::RougeLsum,
    TextMetric::Bleu,
];

/// Items generated (and held) at once when writing a file.
const CHUNK_ITEMS: usize = 1024;
/// Each model's quality moves by up to this much per item, so the best model varies between items.
const QUALITY_JITTER: f64 = 0.12;
/// Input lengths in words.
const INPUT_WORDS: std::ops::RangeInclusive<usize> = 14..=34;
/// Probability that the reference keeps an input word.
const REFERENCE_KEEP: f64 = 0.75;
/// A reference never has fewer words than this.
const MIN_REFERENCE_WORDS: usize = 8;

/// Builds synthetic items for validated [`SynthOptions`].
#[derive(Debug, Clone)]
pub struct Synthesizer {
    options: SynthOptions,
    scorer: TextScorer,
}

impl Synthesizer {
    /// Validates `options` and prepares the metric scorer.
    pub fn new(options: SynthOptions) -> Result<Self, DataError> {
        options.validate()?;
        let scorer = TextScorer::new(&SYNTH_METRICS).expect("a fixed list of distinct metrics");
        Ok(Self { options, scorer })
    }

    /// The options.
    pub fn options(&self) -> &SynthOptions {
        &self.options
    }

    /// Item `index` (0-based), drawn from its own random stream: the same for the same seed and index.
    pub fn item(&self, index: usize) -> MixItem {
        let mut rng = ChaCha8Rng::seed_from_u64(self.options.seed);
        rng.set_stream(index as u64);
        let instruction = INSTRUCTIONS
            .choose(&mut rng)
            .expect("non-empty")
            .to_string();
        let n_input = rng.random_range(INPUT_WORDS);
        let input: Vec<&str> = (0..n_input)
            .map(|_| *CONTENT_WORDS.choose(&mut rng).expect("non-empty"))
            .collect();
        let mut reference: Vec<&str> = input
            .iter()
            .copied()
            .filter(|_| rng.random_bool(REFERENCE_KEEP))
            .collect();
        if reference.len() < MIN_REFERENCE_WORDS {
            reference = input[..MIN_REFERENCE_WORDS].to_vec();
        }
        let reference_text = reference.join(" ");
        let prepared = self
            .scorer
            .prepare_references(&[&reference_text])
            .expect("one reference");

        let models = &self.options.models[..self.options.n_candidates];
        let mut candidates = Vec::with_capacity(models.len());
        let mut mean_scores = Vec::with_capacity(models.len());
        for model in models {
            let jitter = rng.random_range(-QUALITY_JITTER..=QUALITY_JITTER);
            let quality = (model.quality + jitter).clamp(0.0, 1.0);
            let text = candidate_text(&reference, quality, &mut rng);
            let computed = self
                .scorer
                .score_prepared(&text, &prepared)
                .expect("references from this scorer");
            let mut scores = ScoreMap::new();
            let mut weighted_sum = 0.0;
            for (metric, value) in computed.iter() {
                scores.insert(metric.name(), value);
                weighted_sum += value * metric_weight(metric.name());
            }
            mean_scores.push(weighted_sum / SYNTH_METRICS.len() as f64);
            candidates.push(MixCandidate {
                model: model.name.clone(),
                decoding_method: "top_p_sampling".into(),
                text,
                scores,
                extra: Default::default(),
            });
        }

        let cmp_results = rng.random_bool(self.options.cmp_fraction).then(|| {
            let names: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
            // The HF dataset's form: the verdict object as a JSON string.
            CmpField::json_string(verdicts(
                &names,
                &mean_scores,
                self.options.tie_band,
                &mut rng,
            ))
        });
        MixItem {
            id: Some(ItemId::Text(format!("synth/{index}"))),
            instruction,
            input: input.join(" "),
            output: Output::Text(reference_text),
            candidates,
            cmp_results,
            extra: Default::default(),
        }
    }

    /// All `n_items` items, generated in parallel.
    pub fn items(&self) -> Vec<MixItem> {
        (0..self.options.n_items)
            .into_par_iter()
            .map(|index| self.item(index))
            .collect()
    }

    /// Writes all items to `path` (`.json` array or `.jsonl`) atomically, generating a chunk at a time in
    /// parallel; `progress` gets the number of items written so far. Returns the item count.
    pub fn write(
        &self,
        path: &Path,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<usize, DataError> {
        let mut writer = ItemWriter::create(path)?;
        for start in (0..self.options.n_items).step_by(CHUNK_ITEMS) {
            let end = (start + CHUNK_ITEMS).min(self.options.n_items);
            let chunk: Vec<MixItem> = (start..end)
                .into_par_iter()
                .map(|index| self.item(index))
                .collect();
            for item in &chunk {
                writer.push(item)?;
            }
            progress(end);
        }
        writer.finish()
    }
}

/// A candidate of the given quality: each reference word is kept with probability `quality`, else dropped or
/// replaced by a random content or junk word; then `(1 − quality)·0.6·len` junk words are inserted and adjacent
/// words swapped with probability `(1 − quality)·0.3`.
fn candidate_text<R: Rng + ?Sized>(reference: &[&str], quality: f64, rng: &mut R) -> String {
    let noise = 1.0 - quality;
    let mut words: Vec<&str> = Vec::with_capacity(reference.len() * 2);
    for &word in reference {
        if rng.random_bool(quality) {
            words.push(word);
            continue;
        }
        match rng.random_range(0..3) {
            0 => {}
            1 => words.push(JUNK_WORDS.choose(rng).expect("non-empty")),
            _ => words.push(CONTENT_WORDS.choose(rng).expect("non-empty")),
        }
    }
    let inserted = (noise * 0.6 * reference.len() as f64).round() as usize;
    for _ in 0..inserted {
        let at = rng.random_range(0..=words.len());
        words.insert(at, JUNK_WORDS.choose(rng).expect("non-empty"));
    }
    for i in 1..words.len() {
        if rng.random_bool(noise * 0.3) {
            words.swap(i - 1, i);
        }
    }
    if words.is_empty() {
        words.push(JUNK_WORDS.choose(rng).expect("non-empty"));
    }
    words.join(" ")
}

/// Generates the set described by `options` into `path` (see [`Synthesizer::write`]).
pub fn synth_file(
    path: &Path,
    options: SynthOptions,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<usize, DataError> {
    Synthesizer::new(options)?.write(path, progress)
}

/// Generates the set described by `options` in memory (see [`Synthesizer::items`]).
pub fn synth_items(options: SynthOptions) -> Result<Vec<MixItem>, DataError> {
    Ok(Synthesizer::new(options)?.items())
}

/// Generates item `index` of the set described by `options` (see [`Synthesizer::item`]).
pub fn synth_item(options: SynthOptions, index: usize) -> Result<MixItem, DataError> {
    Ok(Synthesizer::new(options)?.item(index))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn small(n_items: usize) -> SynthOptions {
        SynthOptions {
            n_items,
            ..Default::default()
        }
    }

    fn score(candidate: &MixCandidate, metric: &str) -> f64 {
        candidate
            .scores
            .get(metric)
            .and_then(|v| v.as_f64())
            .unwrap()
    }

    #[test]
    fn same_seed_same_items_other_seed_other_items() {
        let a = synth_items(small(5)).unwrap();
        assert_eq!(a, synth_items(small(5)).unwrap());
        assert_eq!(a[3], synth_item(small(5), 3).unwrap());
        let b = synth_items(SynthOptions {
            seed: 7,
            ..small(5)
        })
        .unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn items_have_the_mixinstruct_shape() {
        let items = synth_items(SynthOptions {
            n_candidates: 6,
            cmp_fraction: 1.0,
            ..small(20)
        })
        .unwrap();
        let junk: HashSet<&str> = JUNK_WORDS.into_iter().collect();
        for (index, item) in items.iter().enumerate() {
            assert_eq!(item.id, Some(ItemId::Text(format!("synth/{index}"))));
            let input_words = item.input.split(' ').count();
            assert!(INPUT_WORDS.contains(&input_words), "{input_words}");
            assert!(item.output.target().split(' ').count() >= MIN_REFERENCE_WORDS);
            assert!(item.output.target().split(' ').all(|w| !junk.contains(w)));
            assert_eq!(item.candidates.len(), 6);
            let names: Vec<&str> = item.candidates.iter().map(|c| c.model.as_str()).collect();
            assert_eq!(
                names,
                [
                    "helper-6b",
                    "glitch-1b",
                    "sage-13b",
                    "rambler-3b",
                    "mumbler-1b",
                    "scholar-7b"
                ]
            );
            for candidate in &item.candidates {
                assert_eq!(
                    candidate.scores.names().collect::<Vec<_>>(),
                    ["rouge1", "rouge2", "rougeL", "rougeLsum", "bleu"]
                );
                let words = candidate.text.split(' ').count();
                assert!(
                    (1..=60).contains(&words),
                    "{words} words: {}",
                    candidate.text
                );
            }
            let cmp = item.cmp_results.as_ref().expect("cmp_fraction 1").results();
            assert_eq!(cmp.len(), 15, "C(6, 2) pairs");
        }
    }

    #[test]
    fn cmp_fraction_controls_how_many_items_have_verdicts() {
        let none = synth_items(SynthOptions {
            cmp_fraction: 0.0,
            ..small(30)
        })
        .unwrap();
        assert!(none.iter().all(|item| item.cmp_results.is_none()));
        let half = synth_items(SynthOptions {
            cmp_fraction: 0.5,
            ..small(200)
        })
        .unwrap();
        let with = half
            .iter()
            .filter(|item| item.cmp_results.is_some())
            .count();
        assert!((70..130).contains(&with), "{with} of 200");
    }

    #[test]
    fn better_models_score_higher_on_average() {
        let items = synth_items(small(200)).unwrap();
        let options = SynthOptions::default();
        let mut by_quality: Vec<(f64, f64)> = options
            .models
            .iter()
            .enumerate()
            .map(|(slot, model)| {
                let mean = items
                    .iter()
                    .map(|item| score(&item.candidates[slot], "rougeL"))
                    .sum::<f64>()
                    / 200.0;
                (model.quality, mean)
            })
            .collect();
        by_quality.sort_by(|a, b| a.0.total_cmp(&b.0));
        for pair in by_quality.windows(2) {
            assert!(
                pair[0].1 < pair[1].1,
                "mean rougeL must grow with quality: {by_quality:?}"
            );
        }
    }

    #[test]
    fn quality_is_visible_in_the_text() {
        // Learnability proxy: a text-only rule (fewer junk tokens, then more words shared with the source) picks
        // the candidate with the higher rougeL in most pairs whose scores clearly differ.
        let items = synth_items(small(100)).unwrap();
        let junk: HashSet<&str> = JUNK_WORDS.into_iter().collect();
        let visible = |item: &MixItem, candidate: &MixCandidate| {
            let source: HashSet<&str> = item.input.split(' ').collect();
            let words: Vec<&str> = candidate.text.split(' ').collect();
            let junk_count = words.iter().filter(|w| junk.contains(*w)).count() as f64;
            let shared = words.iter().filter(|w| source.contains(*w)).count() as f64;
            shared / words.len() as f64 - junk_count / words.len() as f64
        };
        let (mut agree, mut total) = (0, 0);
        for item in &items {
            for a in &item.candidates {
                for b in &item.candidates {
                    if score(a, "rougeL") > score(b, "rougeL") + 0.1 {
                        total += 1;
                        agree += usize::from(visible(item, a) > visible(item, b));
                    }
                }
            }
        }
        let accuracy = agree as f64 / total as f64;
        assert!(
            accuracy > 0.9,
            "text-only rule agrees with rougeL on {accuracy:.3} of {total} pairs"
        );
    }

    #[test]
    fn per_item_jitter_changes_the_best_model() {
        let items = synth_items(small(100)).unwrap();
        let best: HashSet<&str> = items
            .iter()
            .map(|item| {
                let top = item
                    .candidates
                    .iter()
                    .max_by(|a, b| score(a, "rougeL").total_cmp(&score(b, "rougeL")));
                top.unwrap().model.as_str()
            })
            .collect();
        assert!(best.len() >= 3, "best models: {best:?}");
    }
}
