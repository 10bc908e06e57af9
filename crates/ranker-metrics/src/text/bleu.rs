//! BLEU exactly as sacrebleu 2.6.0 computes it (`sacrebleu/metrics/bleu.py`), with the
//! `13a` tokenizer, no lowercasing and the `exp` smoothing of mteval-v13a.
//!
//! Only the default configuration of `sentence_bleu` (effective order on) and of
//! `corpus_bleu` (effective order off) is implemented; other smoothing methods,
//! tokenizers and lowercasing are not.

use rustc_hash::FxHashMap;

use super::tokenize_13a::{python_rstrip, tokenize_13a};
use crate::MetricsError;

/// The highest n-gram order BLEU counts (sacrebleu's `MAX_NGRAM_ORDER`).
pub const MAX_NGRAM_ORDER: usize = 4;

/// sacrebleu's `my_log(0.0)`: the log of a zero precision, floored.
const LOG_ZERO: f64 = -9_999_999_999.0;

/// Sufficient statistics of BLEU: what sacrebleu calls the segment statistics
/// `[sys_len, ref_len, correct…, total…]`. Corpus BLEU sums them over segments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BleuStats {
    /// Hypothesis length in tokens.
    pub sys_len: u64,
    /// Length of the reference closest in length to the hypothesis (the shorter on ties).
    pub ref_len: u64,
    /// Clipped n-gram matches, orders 1 to 4.
    pub correct: [u64; MAX_NGRAM_ORDER],
    /// Hypothesis n-grams, orders 1 to 4.
    pub total: [u64; MAX_NGRAM_ORDER],
}

impl std::ops::AddAssign for BleuStats {
    fn add_assign(&mut self, other: BleuStats) {
        self.sys_len += other.sys_len;
        self.ref_len += other.ref_len;
        for n in 0..MAX_NGRAM_ORDER {
            self.correct[n] += other.correct[n];
            self.total[n] += other.total[n];
        }
    }
}

impl std::iter::Sum for BleuStats {
    fn sum<I: Iterator<Item = BleuStats>>(iter: I) -> BleuStats {
        iter.fold(BleuStats::default(), |mut acc, s| {
            acc += s;
            acc
        })
    }
}

/// A BLEU score with the numbers sacrebleu's `BLEUScore` carries.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BleuScore {
    /// BLEU in `[0, 100]` (sacrebleu's `.score`).
    pub score: f64,
    /// Clipped n-gram matches per order (`.counts`).
    pub counts: [u64; MAX_NGRAM_ORDER],
    /// Hypothesis n-grams per order (`.totals`).
    pub totals: [u64; MAX_NGRAM_ORDER],
    /// Smoothed precisions in percent (`.precisions`).
    pub precisions: [f64; MAX_NGRAM_ORDER],
    /// Brevity penalty (`.bp`).
    pub bp: f64,
    /// Hypothesis length (`.sys_len`).
    pub sys_len: u64,
    /// Reference length (`.ref_len`).
    pub ref_len: u64,
}

impl BleuStats {
    /// `BLEU.compute_bleu` with `smooth_method="exp"`. `effective_order` is `true` for
    /// sacrebleu's `sentence_bleu` and `false` for its `corpus_bleu`.
    pub fn score(&self, effective_order: bool) -> BleuScore {
        let (sys_len, ref_len) = (self.sys_len, self.ref_len);
        let mut bp = 1.0;
        if sys_len < ref_len {
            bp = if sys_len > 0 {
                (1.0 - ref_len as f64 / sys_len as f64).exp()
            } else {
                0.0
            };
        }
        let mut precisions = [0.0; MAX_NGRAM_ORDER];
        let result = |score, precisions| BleuScore {
            score,
            counts: self.correct,
            totals: self.total,
            precisions,
            bp,
            sys_len,
            ref_len,
        };
        if self.correct.iter().all(|&c| c == 0) {
            return result(0.0, precisions);
        }

        let mut smooth_mteval = 1.0;
        let mut eff_order = MAX_NGRAM_ORDER;
        for (n, (&correct, &total)) in self.correct.iter().zip(&self.total).enumerate() {
            if total == 0 {
                break;
            }
            if effective_order {
                eff_order = n + 1;
            }
            precisions[n] = if correct == 0 {
                smooth_mteval *= 2.0;
                100.0 / (smooth_mteval * total as f64)
            } else {
                100.0 * correct as f64 / total as f64
            };
        }
        let log_sum = precisions[..eff_order].iter().fold(0.0, |acc, &p| {
            acc + if p == 0.0 { LOG_ZERO } else { p.ln() }
        });
        result(bp * (log_sum / eff_order as f64).exp(), precisions)
    }
}

/// `sacrebleu.sentence_bleu(hypothesis, references)` with its defaults
/// (13a, `exp` smoothing, effective order).
///
/// Fails when `references` is empty.
pub fn sentence_bleu<S: AsRef<str>>(
    hypothesis: &str,
    references: &[S],
) -> Result<BleuScore, MetricsError> {
    Ok(BleuReferences::new(references)?
        .stats(hypothesis)
        .score(true))
}

/// `sacrebleu.corpus_bleu(hypotheses, references)` with its defaults
/// (13a, `exp` smoothing, no effective order).
///
/// `references[i]` holds the references of segment `i`. sacrebleu takes the transpose
/// (one stream per reference position, `None` where a segment has fewer references).
/// Unlike sacrebleu, which silently truncates to the shorter input, a length mismatch is
/// an error, and so is a segment without references.
pub fn corpus_bleu<H, R, S>(hypotheses: &[H], references: &[R]) -> Result<BleuScore, MetricsError>
where
    H: AsRef<str>,
    R: AsRef<[S]>,
    S: AsRef<str>,
{
    if hypotheses.len() != references.len() {
        return Err(MetricsError::CorpusLengthMismatch {
            hypotheses: hypotheses.len(),
            references: references.len(),
        });
    }
    let mut stats = BleuStats::default();
    for (segment, (hypothesis, refs)) in hypotheses.iter().zip(references).enumerate() {
        let refs = BleuReferences::new(refs.as_ref())
            .map_err(|_| MetricsError::SegmentWithoutReferences { segment })?;
        stats += refs.stats(hypothesis.as_ref());
    }
    Ok(stats.score(false))
}

/// The references of one segment, tokenized and counted once so that many hypotheses
/// (the candidates of one example) can be scored against them.
#[derive(Clone, Debug)]
pub struct BleuReferences {
    vocabulary: FxHashMap<Box<str>, u32>,
    /// N-gram ids: an n-gram is its (n−1)-gram prefix extended by one token, keyed as
    /// `(prefix id + 1) << 32 | token id` with prefix `0` for the empty prefix.
    ngram_ids: FxHashMap<u64, u32>,
    /// Per n-gram id, its highest count in a single reference.
    max_counts: Vec<u32>,
    lengths: Vec<u64>,
}

impl BleuReferences {
    /// Tokenizes and counts the references. Fails when there are none.
    pub fn new<S: AsRef<str>>(references: &[S]) -> Result<Self, MetricsError> {
        if references.is_empty() {
            return Err(MetricsError::NoReferences);
        }
        let mut refs = BleuReferences {
            vocabulary: FxHashMap::default(),
            ngram_ids: FxHashMap::default(),
            max_counts: Vec::new(),
            lengths: Vec::with_capacity(references.len()),
        };
        let mut ids = Vec::new();
        let mut counts: Vec<u32> = Vec::new();
        let mut seen: Vec<u32> = Vec::new();
        for reference in references {
            let tokenized = preprocess(reference.as_ref());
            // About one token per six bytes of tokenized text, four n-grams per token.
            let tokens_estimate = tokenized.len() / 6 + 1;
            refs.vocabulary.reserve(tokens_estimate);
            refs.ngram_ids.reserve(4 * tokens_estimate);
            ids.clear();
            for token in tokenized.split(' ').filter(|t| !t.is_empty()) {
                let next = refs.vocabulary.len() as u32;
                ids.push(*refs.vocabulary.entry(token.into()).or_insert(next));
            }
            refs.lengths.push(ids.len() as u64);
            for start in 0..ids.len() {
                let mut prefix = 0u64;
                for &token in ids[start..].iter().take(MAX_NGRAM_ORDER) {
                    let next = refs.max_counts.len() as u32;
                    let id = *refs
                        .ngram_ids
                        .entry(prefix << 32 | u64::from(token))
                        .or_insert(next);
                    if id == next {
                        refs.max_counts.push(0);
                        counts.push(0);
                    }
                    if counts[id as usize] == 0 {
                        seen.push(id);
                    }
                    counts[id as usize] += 1;
                    prefix = u64::from(id) + 1;
                }
            }
            for id in seen.drain(..) {
                let (count, max) = (&mut counts[id as usize], &mut refs.max_counts[id as usize]);
                *max = (*max).max(*count);
                *count = 0;
            }
        }
        Ok(refs)
    }

    /// The statistics of one hypothesis against these references
    /// (`BLEU._compute_segment_statistics`).
    pub fn stats(&self, hypothesis: &str) -> BleuStats {
        let tokenized = preprocess(hypothesis);
        // Tokens absent from every reference get no id: n-grams containing them count
        // towards the totals only.
        let ids: Vec<Option<u32>> = tokenized
            .split(' ')
            .filter(|t| !t.is_empty())
            .map(|token| self.vocabulary.get(token).copied())
            .collect();
        let sys_len = ids.len() as u64;
        let mut stats = BleuStats {
            sys_len,
            ref_len: closest_ref_len(sys_len, &self.lengths),
            ..BleuStats::default()
        };
        for n in 0..MAX_NGRAM_ORDER {
            stats.total[n] = (ids.len() + 1).saturating_sub(n + 1) as u64;
        }
        // Each occurrence matches while the n-gram has been seen no more often than its
        // reference count: the sum over n-grams of min(hypothesis count, reference count).
        let mut used = vec![0u32; self.max_counts.len()];
        for start in 0..ids.len() {
            let mut prefix = 0u64;
            for (order, token) in ids[start..].iter().take(MAX_NGRAM_ORDER).enumerate() {
                let Some(token) = token else { break };
                // An n-gram absent from the references has no extension there either.
                let Some(&id) = self.ngram_ids.get(&(prefix << 32 | u64::from(*token))) else {
                    break;
                };
                used[id as usize] += 1;
                if used[id as usize] <= self.max_counts[id as usize] {
                    stats.correct[order] += 1;
                }
                prefix = u64::from(id) + 1;
            }
        }
        stats
    }
}

/// `BLEU._preprocess_segment` without lowercasing: `tokenizer_13a(sent.rstrip())`.
fn preprocess(segment: &str) -> String {
    tokenize_13a(python_rstrip(segment))
}

/// `BLEU._get_closest_ref_len`: the reference length nearest the hypothesis length,
/// the shorter one on ties.
fn closest_ref_len(hyp_len: u64, ref_lens: &[u64]) -> u64 {
    let mut closest: Option<(u64, u64)> = None;
    for &len in ref_lens {
        let diff = hyp_len.abs_diff(len);
        closest = match closest {
            Some((best_diff, best_len))
                if diff > best_diff || (diff == best_diff && len >= best_len) =>
            {
                Some((best_diff, best_len))
            }
            _ => Some((diff, len)),
        };
    }
    closest.map_or(0, |(_, len)| len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_sentence_scores_one_hundred() {
        let score = sentence_bleu("the cat sat on the mat", &["the cat sat on the mat"]).unwrap();
        assert!((score.score - 100.0).abs() < 1e-9);
        assert_eq!(score.counts, [6, 5, 4, 3]);
        assert_eq!(score.totals, [6, 5, 4, 3]);
    }

    #[test]
    fn smooths_missing_orders_exponentially() {
        // "a b c" vs "a c b": unigrams 3/3, bigrams 0/2, trigrams 0/1.
        let score = sentence_bleu("a b c", &["a c b"]).unwrap();
        assert_eq!(score.counts, [3, 0, 0, 0]);
        assert_eq!(score.precisions, [100.0, 100.0 / 4.0, 100.0 / 4.0, 0.0]);
        let expected = ((100.0f64).ln() + 25.0f64.ln() + 25.0f64.ln()) / 3.0;
        assert!((score.score - expected.exp()).abs() < 1e-12);
    }

    #[test]
    fn picks_the_closest_and_then_shorter_reference_length() {
        assert_eq!(closest_ref_len(5, &[3, 7]), 3);
        assert_eq!(closest_ref_len(5, &[7, 3]), 3);
        assert_eq!(closest_ref_len(5, &[9, 6, 4]), 4);
        assert_eq!(closest_ref_len(5, &[5, 3]), 5);
    }

    #[test]
    fn clips_counts_by_the_best_single_reference() {
        let score = sentence_bleu("the the the", &["the cat", "the the dog"]).unwrap();
        assert_eq!(score.counts[0], 2);
    }

    #[test]
    fn rejects_missing_references() {
        assert!(matches!(
            sentence_bleu::<&str>("x", &[]),
            Err(MetricsError::NoReferences)
        ));
        let err = corpus_bleu(&["a", "b"], &[vec!["a"], vec![]]).unwrap_err();
        assert_eq!(err.to_string(), "corpus BLEU: segment 1 has no references");
        let err = corpus_bleu(&["a"], &[vec!["a"], vec!["b"]]).unwrap_err();
        assert!(matches!(err, MetricsError::CorpusLengthMismatch { .. }));
    }

    #[test]
    fn corpus_statistics_are_sums_of_segment_statistics() {
        let hyps = ["a b c d", "e f"];
        let refs = [vec!["a b c d e"], vec!["e f g"]];
        let corpus = corpus_bleu(&hyps, &refs).unwrap();
        assert_eq!(corpus.sys_len, 6);
        assert_eq!(corpus.ref_len, 8);
        assert_eq!(corpus.counts, [6, 4, 2, 1]);
        assert_eq!(corpus.totals, [6, 4, 2, 1]);
    }
}
