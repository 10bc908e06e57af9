//! Bucketed gradient all-reduce over one flat buffer.
//!
//! The trainer flattens its gradients in a fixed parameter order into one `&mut [f32]` and calls
//! [`all_reduce_bucketed`]; the buffer is reduced in consecutive buckets of at most `bucket_mb` MiB so that memory
//! for send/receive staging stays bounded and a backend can pipeline buckets. The bucket boundaries depend only on
//! the buffer length and `bucket_mb`, so every rank cuts the buffer identically.

use std::ops::Range;

use super::base::{Collective, ReduceOp};
use crate::error::DistError;

/// Consecutive bucket ranges of a flat buffer of `len` `f32` values, each at most `bucket_mb` MiB (at least one
/// element per bucket; `bucket_mb <= 0` means a single bucket).
pub fn bucket_ranges(len: usize, bucket_mb: f64) -> Vec<Range<usize>> {
    if len == 0 {
        return Vec::new();
    }
    let per_bucket = if bucket_mb > 0.0 && bucket_mb.is_finite() {
        ((bucket_mb * 1024.0 * 1024.0 / 4.0).floor() as usize).max(1)
    } else {
        len
    };
    (0..len)
        .step_by(per_bucket)
        .map(|start| start..(start + per_bucket).min(len))
        .collect()
}

/// All-reduces `flat` bucket by bucket (in order). `flat.len()` and `bucket_mb` must be equal on every rank.
pub fn all_reduce_bucketed(
    coll: &mut dyn Collective,
    flat: &mut [f32],
    bucket_mb: f64,
    op: ReduceOp,
) -> Result<(), DistError> {
    for range in bucket_ranges(flat.len(), bucket_mb) {
        coll.all_reduce(&mut flat[range], op)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collective::single::SingleCollective;

    #[test]
    fn buckets_cover_the_buffer_in_order() {
        // 1 MiB = 262144 f32.
        let r = bucket_ranges(600_000, 1.0);
        assert_eq!(r, vec![0..262_144, 262_144..524_288, 524_288..600_000]);
        assert_eq!(bucket_ranges(10, 0.0), vec![0..10]);
        assert_eq!(bucket_ranges(0, 25.0), Vec::<Range<usize>>::new());
        assert_eq!(bucket_ranges(3, 1e-9), vec![0..1, 1..2, 2..3]);
    }

    #[test]
    fn bucketed_on_a_single_rank_is_identity() {
        let mut v = vec![1.0f32, 2.0, 3.0];
        all_reduce_bucketed(&mut SingleCollective, &mut v, 1e-6, ReduceOp::Mean).unwrap();
        assert_eq!(v, [1.0, 2.0, 3.0]);
    }
}
