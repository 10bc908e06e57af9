//! AdamW over the flat parameter buffer, in buckets: consecutive parameters of the table are
//! grouped into buckets of about [`BUCKET_ELEMENTS`] values, and each bucket is stepped with a few
//! whole-bucket ops instead of a dozen per parameter tensor. Every op is elementwise, so the result
//! equals the per-tensor step's. Buckets rather than one buffer: on the CPU a buffer above the
//! allocator's mmap threshold (32 MiB in glibc) is fresh, page-faulting memory at every op.

use std::collections::HashMap;
use std::ops::Range;

use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Tensor, TensorData};

use super::params::ParamTable;
use super::rules::{AdamState, AdamW};

/// Values per bucket (16 MiB of f32); a larger parameter is a bucket of its own.
const BUCKET_ELEMENTS: usize = 1 << 22;

/// AdamW's state for the parameters of `table`, bucket by bucket.
#[derive(Debug, Clone)]
pub(super) struct FlatAdam<B: Backend> {
    table: ParamTable,
    buckets: Vec<Bucket<B>>,
}

#[derive(Debug, Clone)]
struct Bucket<B: Backend> {
    /// Indices of the bucket's parameters in the table.
    entries: Range<usize>,
    /// The bucket's values in the flat buffer.
    values: Range<usize>,
    decay: Decay<B>,
    /// `None` before the first step.
    moments: Option<AdamState<B, 1>>,
}

/// Which values of a bucket take weight decay ([`super::ParamEntry::decay`]).
#[derive(Debug, Clone)]
enum Decay<B: Backend> {
    All,
    None,
    Where(Tensor<B, 1, Bool>),
}

impl<B: Backend> FlatAdam<B> {
    /// Lays out per-parameter moments (`[exp_avg, exp_avg_sq]` by path, as
    /// [`super::Optimizer`] keeps them per tensor) in buckets; a parameter without moments gets
    /// zeros, which is what AdamW starts from.
    pub(super) fn new(
        table: &ParamTable,
        per_tensor: &HashMap<String, Vec<Tensor<B, 1>>>,
        device: &B::Device,
    ) -> Self {
        Self::with_bucket_limit(table, per_tensor, device, BUCKET_ELEMENTS)
    }

    fn with_bucket_limit(
        table: &ParamTable,
        per_tensor: &HashMap<String, Vec<Tensor<B, 1>>>,
        device: &B::Device,
        limit: usize,
    ) -> Self {
        let buckets = bucket_ranges(table, limit)
            .into_iter()
            .map(|entries| {
                let members = &table.entries()[entries.clone()];
                let start = members[0].offset;
                let end = start + members.iter().map(|e| e.numel()).sum::<usize>();
                let decay = if members.iter().all(|e| e.decay) {
                    Decay::All
                } else if members.iter().all(|e| !e.decay) {
                    Decay::None
                } else {
                    let mask: Vec<bool> = members
                        .iter()
                        .flat_map(|e| std::iter::repeat_n(e.decay, e.numel()))
                        .collect();
                    Decay::Where(Tensor::from_data(
                        TensorData::new(mask, [end - start]),
                        device,
                    ))
                };
                let moments = (!per_tensor.is_empty()).then(|| {
                    let flat = |index: usize| {
                        let parts = members.iter().map(|e| {
                            per_tensor
                                .get(&e.path)
                                .map(|s| s[index].clone())
                                .unwrap_or_else(|| Tensor::zeros([e.numel()], device))
                        });
                        join(parts.collect())
                    };
                    AdamState {
                        exp_avg: flat(0),
                        exp_avg_sq: flat(1),
                    }
                });
                Bucket {
                    entries,
                    values: start..end,
                    decay,
                    moments,
                }
            })
            .collect();
        Self {
            table: table.clone(),
            buckets,
        }
    }

    /// Whether this state is laid out for `table`.
    pub(super) fn is_for(&self, table: &ParamTable) -> bool {
        self.table == *table
    }

    /// One AdamW step of `params` (one `[numel]` tensor per table entry) with the flat `grad`;
    /// returns the new values in the same form.
    pub(super) fn step(
        &mut self,
        rule: &AdamW,
        t: u64,
        lr: f64,
        params: Vec<Tensor<B, 1>>,
        grad: Tensor<B, 1>,
    ) -> Vec<Tensor<B, 1>> {
        let mut params = params.into_iter();
        let mut updated = Vec::with_capacity(self.table.entries().len());
        for bucket in &mut self.buckets {
            let param = join(params.by_ref().take(bucket.entries.len()).collect());
            let grad = grad.clone().slice(bucket.values.clone());
            let param = match &bucket.decay {
                _ if rule.weight_decay == 0.0 => param,
                Decay::None => param,
                Decay::All => rule.decayed(lr, param),
                Decay::Where(mask) => param
                    .clone()
                    .mask_where(mask.clone(), rule.decayed(lr, param)),
            };
            let (param, moments) = rule.moment_step(t, lr, param, grad, bucket.moments.take());
            bucket.moments = Some(moments);
            updated.extend(split(&self.table, bucket, param));
        }
        updated
    }

    /// The moments per parameter path (`[exp_avg, exp_avg_sq]`); empty before the first step.
    pub(super) fn into_per_tensor(self) -> HashMap<String, Vec<Tensor<B, 1>>> {
        let mut out = HashMap::new();
        for bucket in &self.buckets {
            let Some(moments) = &bucket.moments else {
                return HashMap::new();
            };
            let exp_avg = split(&self.table, bucket, moments.exp_avg.clone());
            let exp_avg_sq = split(&self.table, bucket, moments.exp_avg_sq.clone());
            let members = &self.table.entries()[bucket.entries.clone()];
            for ((e, m), v) in members.iter().zip(exp_avg).zip(exp_avg_sq) {
                out.insert(e.path.clone(), vec![m, v]);
            }
        }
        out
    }
}

/// Consecutive runs of table entries of at most `limit` values each (or one larger entry).
fn bucket_ranges(table: &ParamTable, limit: usize) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let (mut start, mut size) = (0, 0);
    for (i, e) in table.entries().iter().enumerate() {
        if size > 0 && size + e.numel() > limit {
            ranges.push(start..i);
            (start, size) = (i, 0);
        }
        size += e.numel();
    }
    if start < table.entries().len() {
        ranges.push(start..table.entries().len());
    }
    ranges
}

/// One vector of `parts`, without a copy when there is one part.
fn join<B: Backend>(mut parts: Vec<Tensor<B, 1>>) -> Tensor<B, 1> {
    if parts.len() == 1 {
        parts.pop().expect("one part")
    } else {
        Tensor::cat(parts, 0)
    }
}

/// `values` (a bucket's worth) cut into its parameters.
fn split<B: Backend>(
    table: &ParamTable,
    bucket: &Bucket<B>,
    values: Tensor<B, 1>,
) -> Vec<Tensor<B, 1>> {
    table.entries()[bucket.entries.clone()]
        .iter()
        .map(|e| {
            let start = e.offset - bucket.values.start;
            values.clone().slice(start..start + e.numel())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::module::{Module, Param};

    type B = Flex;

    #[derive(Module, Debug)]
    struct Mixed<B: Backend> {
        weight: Param<Tensor<B, 1>>,
        bias: Param<Tensor<B, 1>>,
        more: Vec<Param<Tensor<B, 1>>>,
    }

    fn mixed(sizes: [usize; 4]) -> Mixed<B> {
        let device = Default::default();
        let param = |n: usize, seed: usize| {
            let v: Vec<f32> = (0..n)
                .map(|i| ((i + 3 * seed) as f32 * 0.7).cos())
                .collect();
            Param::from_tensor(Tensor::from_data(TensorData::new(v, [n]), &device))
        };
        Mixed {
            weight: param(sizes[0], 0),
            bias: param(sizes[1], 1),
            more: vec![param(sizes[2], 2), param(sizes[3], 3)],
        }
    }

    #[test]
    fn buckets_group_consecutive_parameters_up_to_the_limit() {
        let table = ParamTable::of(&mixed([1, 9, 1, 12]));
        assert_eq!(bucket_ranges(&table, 10), [0..2, 2..3, 3..4]);
        assert_eq!(bucket_ranges(&table, 11), [0..3, 3..4]);
        assert_eq!(bucket_ranges(&table, 1 << 22), vec![0..4]);
    }

    fn values(parts: &[Tensor<B, 1>]) -> Vec<f32> {
        parts
            .iter()
            .flat_map(|t| t.to_data().to_vec::<f32>().unwrap())
            .collect()
    }

    /// Every bucketing (one parameter per bucket, mixed decay in a bucket, one bucket) steps
    /// exactly as AdamW per tensor, across a round trip through the per-tensor layout.
    #[test]
    fn every_bucketing_steps_as_adamw_per_tensor() {
        let device = Default::default();
        let module = mixed([4, 3, 5, 2]);
        let table = ParamTable::of(&module);
        let decays: Vec<bool> = table.entries().iter().map(|e| e.decay).collect();
        assert_eq!(decays, [true, false, true, true]);
        let rule = AdamW {
            weight_decay: 0.1,
            ..AdamW::default()
        };
        let initial: Vec<Tensor<B, 1>> = vec![
            module.weight.val(),
            module.bias.val(),
            module.more[0].val(),
            module.more[1].val(),
        ];
        let grad_at = |t: u64| {
            let v: Vec<f32> = (0..table.numel())
                .map(|i| ((i as u64 * 5 + t) as f32 * 0.3).sin())
                .collect();
            Tensor::<B, 1>::from_data(TensorData::new(v, [table.numel()]), &device)
        };
        let mut expected = initial.clone();
        let mut states: Vec<Option<AdamState<B, 1>>> = vec![None; 4];
        let mut want = Vec::new();
        for t in 1..=5 {
            let grad = grad_at(t);
            for (i, e) in table.entries().iter().enumerate() {
                let g = grad.clone().slice(e.offset..e.offset + e.numel());
                let (p, s) = rule.step(t, 1e-2, e.decay, expected[i].clone(), g, states[i].take());
                expected[i] = p;
                states[i] = Some(s);
            }
            want.push(values(&expected));
        }
        for limit in [1, 7, 1 << 22] {
            let mut flat = FlatAdam::with_bucket_limit(&table, &HashMap::new(), &device, limit);
            let mut params = initial.clone();
            for t in 1..=5 {
                if t == 3 {
                    let per_tensor = flat.into_per_tensor();
                    flat = FlatAdam::with_bucket_limit(&table, &per_tensor, &device, limit);
                }
                params = flat.step(&rule, t, 1e-2, params, grad_at(t));
                assert_eq!(
                    values(&params),
                    want[t as usize - 1],
                    "limit {limit}, step {t}"
                );
            }
        }
    }
}
