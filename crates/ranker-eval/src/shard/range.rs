//! Which items a rank scores.

use std::ops::Range;

/// The contiguous block of `n_items` that `rank` of `world` ranks scores: blocks in rank order, the first
/// `n_items % world` ranks one item longer. Concatenating the blocks of ranks `0..world` gives `0..n_items`.
pub fn shard_range(n_items: usize, rank: usize, world: usize) -> Range<usize> {
    assert!(world > 0 && rank < world, "rank {rank} of world {world}");
    let base = n_items / world;
    let extra = n_items % world;
    let start = rank * base + rank.min(extra);
    let len = base + usize::from(rank < extra);
    start..start + len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cover_the_items_in_order() {
        for n in 0..20 {
            for world in 1..6 {
                let blocks: Vec<_> = (0..world).map(|r| shard_range(n, r, world)).collect();
                assert_eq!(blocks[0].start, 0);
                assert_eq!(blocks[world - 1].end, n);
                for pair in blocks.windows(2) {
                    assert_eq!(pair[0].end, pair[1].start);
                    assert!(pair[0].len() >= pair[1].len() && pair[0].len() <= pair[1].len() + 1);
                }
            }
        }
        assert_eq!(shard_range(10, 1, 3), 4..7);
    }
}
