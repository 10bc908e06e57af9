//! Small, fully specified integer hashing and random permutations, so that results never depend on a
//! random-number crate's version and can be reproduced in a few lines of Python
//! (`tests/fixtures/make_eval_fixtures.py` does).

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function applied to `x + γ`: a bijective 64-bit mix.
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// 64-bit FNV-1a of `bytes`.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = 0xCBF2_9CE4_8422_2325u64;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
    }
    hash
}

/// The top 53 bits of `x` as a float in `[0, 1)`.
pub(crate) fn unit_f64(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// The SplitMix64 generator: `state += γ`, output the mix of the new state.
#[derive(Clone, Debug)]
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        let out = splitmix64(self.state);
        self.state = self.state.wrapping_add(GOLDEN);
        out
    }
}

/// The bubble permutation of item `index` (its position in the whole input) in evaluation round `round`:
///
/// ```text
/// state = splitmix64(splitmix64(splitmix64(seed) ^ round) ^ index)
/// perm  = [0, 1, …, n−1]
/// for i = n−1 down to 1:                        (Fisher–Yates)
///     x = splitmix64(state); state += 0x9E3779B97F4A7C15
///     j = (x · (i + 1)) >> 64                    (128-bit product)
///     swap perm[i], perm[j]
/// ```
///
/// It depends only on `(seed, round, index, n)`, so a result is the same on any number of ranks and in any batch.
pub fn item_permutation(seed: u64, round: u64, index: usize, n: usize) -> Vec<usize> {
    let mut rng = SplitMix64 {
        state: splitmix64(splitmix64(splitmix64(seed) ^ round) ^ index as u64),
    };
    let mut perm: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = ((u128::from(rng.next()) * (i as u128 + 1)) >> 64) as usize;
        perm.swap(i, j);
    }
    perm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_published_sequence() {
        // SplitMix64 seeded with 0 (Vigna's reference implementation) starts with these outputs.
        let mut rng = SplitMix64 { state: 0 };
        assert_eq!(rng.next(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn fnv1a_matches_known_values() {
        assert_eq!(fnv1a(b""), 0xCBF2_9CE4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xAF63_DC4C_8601_EC8C);
    }

    #[test]
    fn permutations_are_permutations_and_vary() {
        for n in 0..12 {
            let mut p = item_permutation(42, 0, 7, n);
            p.sort_unstable();
            assert_eq!(p, (0..n).collect::<Vec<_>>());
        }
        let a = item_permutation(42, 0, 7, 11);
        assert_eq!(a, item_permutation(42, 0, 7, 11));
        assert_ne!(a, item_permutation(42, 0, 8, 11));
        assert_ne!(a, item_permutation(42, 1, 7, 11));
        assert_ne!(a, item_permutation(43, 0, 7, 11));
    }
}
