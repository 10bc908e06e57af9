//! Synthetic `cmp_results`: pairwise verdicts from score differences, as a judge would give them.

use rand::Rng;
use ranker_metrics::{CmpResults, Verdict};

/// Tied pairs whose mean score is at least this are "Same good", the others "Same bad".
pub(super) const GOOD_THRESHOLD: f64 = 0.5;

/// Verdicts for every pair of candidates. `quality[i]` is candidate i's mean weighted score. For each pair the
/// A/B order is a coin flip (as the reference's ChatGPT prompts randomised it); a score difference within
/// `tie_band` is a tie.
pub(super) fn verdicts<R: Rng + ?Sized>(
    models: &[&str],
    quality: &[f64],
    tie_band: f64,
    rng: &mut R,
) -> CmpResults {
    let mut results = CmpResults::new();
    for i in 0..models.len() {
        for j in i + 1..models.len() {
            let (a, b) = if rng.random_bool(0.5) { (i, j) } else { (j, i) };
            let difference = quality[a] - quality[b];
            let verdict = if difference.abs() <= tie_band {
                if (quality[a] + quality[b]) / 2.0 >= GOOD_THRESHOLD {
                    Verdict::SameGood
                } else {
                    Verdict::SameBad
                }
            } else if difference > 0.0 {
                Verdict::ABetter
            } else {
                Verdict::BBetter
            };
            results.insert(models[a], models[b], verdict);
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn verdicts_follow_scores_in_either_key_order() {
        let models = ["hi", "mid", "lo", "hi2", "lo2"];
        let quality = [0.9, 0.6, 0.1, 0.91, 0.11];
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut flipped = 0;
        for _ in 0..20 {
            let results = verdicts(&models, &quality, 0.02, &mut rng);
            assert_eq!(results.len(), 10, "one key per unordered pair");
            for (a, b, verdict) in results.iter() {
                let qa = quality[models.iter().position(|m| *m == a).unwrap()];
                let qb = quality[models.iter().position(|m| *m == b).unwrap()];
                let expected = match (a, b) {
                    ("hi", "hi2") | ("hi2", "hi") => Verdict::SameGood,
                    ("lo", "lo2") | ("lo2", "lo") => Verdict::SameBad,
                    _ if qa > qb => Verdict::ABetter,
                    _ => Verdict::BBetter,
                };
                assert_eq!(verdict, expected, "{a},{b}");
                flipped += usize::from(qa < qb);
            }
        }
        assert!(
            flipped > 20 && flipped < 180,
            "A/B order is random: {flipped} of 200 keys start with the worse"
        );
    }
}
