//! Sort keys and the descending sort shared by the samplers.

/// Sum over tasks in `f32`, as `torch.sum(scores, -1)` over a float32 tensor.
pub(super) fn task_sum(row: &[f64]) -> f32 {
    row.iter().fold(0.0_f32, |sum, &value| sum + value as f32)
}

/// Mean over tasks in `f32`, as `scores.mean(-1)` over a float32 tensor.
pub(super) fn task_mean(row: &[f64]) -> f32 {
    task_sum(row) / row.len() as f32
}

/// Positions of `keys` from largest to smallest; equal keys keep their index order.
pub(super) fn argsort_descending(keys: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    // `sort_by` is stable; keys are finite (the loader rejects non-finite scores), total_cmp orders them.
    order.sort_by(|&a, &b| keys[b].total_cmp(&keys[a]));
    order
}

/// Indices of the first occurrence of each distinct key, in index order (the reference's dedup loops).
pub(super) fn first_occurrences<K: PartialEq>(keys: &[K]) -> Vec<usize> {
    let mut unique: Vec<usize> = Vec::with_capacity(keys.len());
    for (index, key) in keys.iter().enumerate() {
        if !unique.iter().any(|&kept| keys[kept] == *key) {
            unique.push(index);
        }
    }
    unique
}

/// `int(n / (n * ratio))` with the reference's float arithmetic and truncating cast.
pub(super) fn uniform_step(n: usize, ratio: f64) -> usize {
    (n as f64 / (n as f64 * ratio)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descending_with_ties_in_index_order() {
        // torch.argsort(torch.tensor([1., 3., 3., 2., 3., 1., 2.]), descending=True) == [1, 2, 4, 3, 6, 0, 5]
        assert_eq!(
            argsort_descending(&[1.0, 3.0, 3.0, 2.0, 3.0, 1.0, 2.0]),
            [1, 2, 4, 3, 6, 0, 5]
        );
        assert!(argsort_descending(&[]).is_empty());
    }

    #[test]
    fn keys_are_float32() {
        // 0.1 + 0.2 and 0.3 differ in f64 but are the same float32, so they tie as in the reference.
        assert_eq!(task_sum(&[0.1 + 0.2]), task_sum(&[0.3]));
        assert_eq!(task_mean(&[1.0, 2.0, 4.5]), 2.5);
    }

    #[test]
    fn dedup_keeps_first_occurrences() {
        assert_eq!(first_occurrences(&["a", "b", "a", "c", "b"]), [0, 1, 3]);
        assert_eq!(first_occurrences::<u8>(&[]), Vec::<usize>::new());
    }

    #[test]
    fn uniform_step_truncates_like_the_long_cast() {
        assert_eq!(uniform_step(11, 0.4), 2); // 11 / 4.4 = 2.5
        assert_eq!(uniform_step(11, 0.3), 3); // 11 / 3.3 = 3.33
        assert_eq!(uniform_step(10, 0.5), 2);
        assert_eq!(uniform_step(7, 1.0), 1);
        // Values checked with torch.tensor(n / (n * ratio), dtype=torch.long): 3 * 0.2 rounds up, the step down.
        assert_eq!(uniform_step(3, 0.2), 4); // 3 / 0.6000000000000001 = 4.999999999999999
        assert_eq!(uniform_step(5, 0.2), 5);
        assert_eq!(uniform_step(10, 0.1), 10);
    }
}
