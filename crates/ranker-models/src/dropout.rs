//! Dropout whose mask is drawn in parallel on the host when the tensors live there, keyed by the
//! global identity of each batch row.
//!
//! burn's `nn::Dropout` samples its Bernoulli mask element by element from one ChaCha stream on one
//! thread; on the CPU backend that cost a fifth of a PairRanker training step. Here, on the host
//! (burn Flex), every mask element is a pure function (SplitMix64 hashes) of
//!
//! - the stream seed (the training loop seeds it per optimiser step: `run.seed` and the step),
//! - the dropout call: the `c`-th call since the seed (the layer, in forward order),
//! - the row's key: when the tensor's first dimension is one of the row sets given to
//!   [`seed_dropout_rows`], row `r` is keyed by the set's `r`-th key (the loop passes the global
//!   example or pair index); otherwise by `r` itself,
//! - the element's coordinates within its row.
//!
//! So the mask a pair sees does not depend on which rank or micro-batch it lands in, on how many pairs
//! share its batch, on how far its batch is padded (coordinates, not flat offsets, are hashed) or on
//! the number of threads: N ranks × batch b draw exactly the masks of 1 rank × batch N·b.
//!
//! On other devices (CUDA) the mask is sampled on the device by the backend, as burn does, seeded by
//! `Backend::seed`; those masks depend on the batch layout.
//!
//! The host stream is per thread: [`seed_dropout`] / [`seed_dropout_rows`] set the calling thread's
//! seed and restart its call counter, so a forward pass seeded the same way draws the same masks
//! however often it is replayed (exact resume, recomputation).

use std::any::TypeId;
use std::cell::RefCell;

use burn::module::{Content, DisplaySettings, Module, ModuleDisplay};
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, FloatDType, Tensor, TensorData};
use burn_flex::FlexDevice;
use rayon::prelude::*;

/// This thread's host mask stream.
#[derive(Default)]
struct HostStream {
    seed: u64,
    calls: u64,
    /// Row key sets: a call whose first dimension is a set's length keys its rows by that set.
    row_sets: Vec<Vec<u64>>,
}

thread_local! {
    static HOST_STREAM: RefCell<HostStream> = RefCell::new(HostStream::default());
}

/// Seeds the calling thread's host dropout stream and restarts its call counter; rows are keyed by
/// their index.
pub fn seed_dropout(seed: u64) {
    seed_dropout_rows(seed, Vec::new());
}

/// Seeds the calling thread's host dropout stream, restarts its call counter and names the rows of
/// the coming batch: a dropout input whose first dimension equals the length of a set in
/// `row_sets` (the first such set) draws row `r`'s mask from that set's `r`-th key. Give each row a
/// key that identifies it globally (the example or pair it holds), and the masks do not depend on how
/// rows are grouped into batches.
pub fn seed_dropout_rows(seed: u64, row_sets: Vec<Vec<u64>>) {
    HOST_STREAM.with(|s| {
        *s.borrow_mut() = HostStream {
            seed,
            calls: 0,
            row_sets,
        }
    });
}

/// The key of the next dropout call on this thread, and the row keys for a first dimension of `rows`.
fn next_call(rows: usize) -> (u64, Option<Vec<u64>>) {
    HOST_STREAM.with(|s| {
        let mut s = s.borrow_mut();
        let key = splitmix64(splitmix64(s.seed) ^ s.calls);
        s.calls += 1;
        let keys = s.row_sets.iter().find(|set| set.len() == rows).cloned();
        (key, keys)
    })
}

/// SplitMix64's output function of `x + γ`: a fast, well-mixed 64-bit hash.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Lines (runs along the last dimension) per parallel task at least.
const MIN_LINES_PER_TASK: usize = 64;

/// The mask of a `dims`-shaped tensor (row-major), each value `scale` with probability `keep` and 0
/// otherwise. Row `r` (index along `dims[0]`) is keyed by `row_keys[r]` when given, else by `r`.
fn host_mask(
    dims: &[usize],
    keep: f64,
    scale: f32,
    call_key: u64,
    row_keys: Option<&[u64]>,
) -> Vec<f32> {
    let len: usize = dims.iter().product();
    if len == 0 {
        return Vec::new();
    }
    // Keep when a uniform 32-bit draw is below keep·2³² (exactly 2³² for keep = 1).
    let threshold = (keep * 4_294_967_296.0) as u64;
    let rank = dims.len();
    let last = if rank > 1 { dims[rank - 1] } else { 1 };
    // The coordinates between the row and the last dimension.
    let middle = if rank > 2 {
        &dims[1..rank - 1]
    } else {
        &[][..]
    };
    let lines_per_row: usize = middle.iter().product();
    let mut mask = vec![0.0f32; len];
    mask.par_chunks_mut(last)
        .enumerate()
        .with_min_len(MIN_LINES_PER_TASK)
        .for_each(|(line, values)| {
            let row = line / lines_per_row;
            let row_key = row_keys.map_or(row as u64, |keys| keys[row]);
            let mut key = splitmix64(call_key ^ splitmix64(row_key));
            let mut within = line % lines_per_row;
            let mut stride = lines_per_row;
            for &d in middle {
                stride /= d;
                key = splitmix64(key ^ (within / stride) as u64);
                within %= stride;
            }
            for (pair, two) in values.chunks_mut(2).enumerate() {
                let bits = splitmix64(key ^ splitmix64(pair as u64));
                for (value, draw) in two.iter_mut().zip([bits as u32, (bits >> 32) as u32]) {
                    *value = if u64::from(draw) < threshold {
                        scale
                    } else {
                        0.0
                    };
                }
            }
        });
    mask
}

/// Zeroes each element with probability `prob` in training (autodiff enabled) and scales the
/// rest by `1 / (1 − prob)`; the identity otherwise. Same semantics as `torch.nn.Dropout`.
#[derive(Module, Clone, Debug)]
#[module(custom_display)]
pub struct Dropout {
    /// The probability of zeroing an element.
    pub prob: f64,
}

impl Dropout {
    /// A dropout layer; `prob` must be within `[0, 1]` (callers pass validated configs).
    pub fn new(prob: f64) -> Self {
        assert!(
            (0.0..=1.0).contains(&prob),
            "dropout probability {prob} is outside [0, 1]"
        );
        Self { prob }
    }

    /// Dropout on a batch: on the host, row `r` (index along the first dimension) is keyed by the
    /// matching row set of [`seed_dropout_rows`].
    ///
    /// # Shapes
    /// - input, output: `[rows, ...]`
    pub fn forward<B: Backend, const D: usize>(&self, input: Tensor<B, D>) -> Tensor<B, D> {
        self.apply(input, None)
    }

    /// Dropout on a tensor shared by every row of the batch (e.g. the used rows of DeBERTa's relative
    /// position embeddings): its mask depends on the seed, the call and the absolute row
    /// (`first_row` + index along the first dimension), never on the batch's row keys.
    ///
    /// # Shapes
    /// - input, output: `[rows, ...]`
    pub fn forward_shared<B: Backend, const D: usize>(
        &self,
        input: Tensor<B, D>,
        first_row: usize,
    ) -> Tensor<B, D> {
        self.apply(input, Some(first_row))
    }

    fn apply<B: Backend, const D: usize>(
        &self,
        input: Tensor<B, D>,
        shared_from: Option<usize>,
    ) -> Tensor<B, D> {
        let device = input.device();
        if !B::ad_enabled(&device) || self.prob == 0.0 {
            return input;
        }
        let keep = 1.0 - self.prob;
        if TypeId::of::<B::Device>() == TypeId::of::<FlexDevice>() {
            let shape = input.shape();
            let dims = input.dims();
            let scale = (1.0 / keep) as f32;
            let rows = dims.first().copied().unwrap_or(1);
            let (call_key, mut row_keys) = next_call(rows);
            if let Some(first) = shared_from {
                row_keys = Some((first..first + rows).map(|r| r as u64).collect());
            }
            let mask = host_mask(&dims, keep, scale, call_key, row_keys.as_deref());
            let mask = Tensor::<B, D>::from_data(TensorData::new(mask, shape), &device)
                .cast(FloatDType::from(input.dtype()));
            input * mask
        } else {
            let mask = input.random_like(Distribution::Bernoulli(keep));
            input * mask * (1.0 / keep)
        }
    }
}

impl ModuleDisplay for Dropout {
    fn custom_settings(&self) -> Option<DisplaySettings> {
        DisplaySettings::new()
            .with_new_line_after_attribute(false)
            .optional()
    }

    fn custom_content(&self, content: Content) -> Option<Content> {
        content.add("prob", &self.prob).optional()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};

    type Train = Autodiff<Flex>;

    fn train_mask(dropout: &Dropout, len: usize) -> Vec<f32> {
        let ones = Tensor::<Train, 1>::ones([len], &Default::default());
        dropout.forward(ones).into_data().to_vec().unwrap()
    }

    fn train_mask_3d(dropout: &Dropout, dims: [usize; 3]) -> Vec<f32> {
        let ones = Tensor::<Train, 3>::ones(dims, &Default::default());
        dropout.forward(ones).into_data().to_vec().unwrap()
    }

    #[test]
    fn keeps_the_configured_fraction_scaled() {
        seed_dropout(3);
        let dropout = Dropout::new(0.1);
        let mask = train_mask(&dropout, 200_000);
        let scale = (1.0 / 0.9) as f32;
        assert!(mask.iter().all(|&v| v == 0.0 || v == scale));
        let kept = mask.iter().filter(|&&v| v != 0.0).count() as f64 / mask.len() as f64;
        // Binomial standard deviation at n = 2e5 is 6.7e-4; 5e-3 is over seven of them.
        assert!((kept - 0.9).abs() < 5e-3, "kept {kept}");
        let mask = train_mask_3d(&dropout, [7, 50, 300]);
        let kept = mask.iter().filter(|&&v| v != 0.0).count() as f64 / mask.len() as f64;
        // n = 1.05e5: standard deviation 9.3e-4.
        assert!((kept - 0.9).abs() < 7e-3, "kept {kept}");
    }

    #[test]
    fn a_seed_replays_its_masks_and_calls_differ() {
        let dropout = Dropout::new(0.5);
        seed_dropout(11);
        let first = train_mask(&dropout, 100_003);
        let second = train_mask(&dropout, 100_003);
        seed_dropout(11);
        assert_eq!(train_mask(&dropout, 100_003), first);
        assert_eq!(train_mask(&dropout, 100_003), second);
        assert_ne!(first, second);
        seed_dropout(12);
        assert_ne!(train_mask(&dropout, 100_003), first);
    }

    #[test]
    fn a_row_draws_by_its_key_whatever_batch_and_padding_it_is_in() {
        let dropout = Dropout::new(0.5);
        // Rows 10, 11, 12, 13 as one batch of sequence length 9 …
        seed_dropout_rows(5, vec![vec![10, 11, 12, 13]]);
        let whole = train_mask_3d(&dropout, [4, 9, 16]);
        // … and as two batches (12, 13 first) padded to lengths 6 and 7.
        seed_dropout_rows(5, vec![vec![12, 13]]);
        let front = train_mask_3d(&dropout, [2, 6, 16]);
        seed_dropout_rows(5, vec![vec![10, 11]]);
        let back = train_mask_3d(&dropout, [2, 7, 16]);
        let row = |mask: &[f32], seq: usize, r: usize, positions: usize| {
            mask[r * seq * 16..(r * seq + positions) * 16].to_vec()
        };
        for (r, key_row) in [(0, row(&back, 7, 0, 6)), (1, row(&back, 7, 1, 6))] {
            assert_eq!(row(&whole, 9, r, 6), key_row, "row {r}");
        }
        for (r, key_row) in [(2, row(&front, 6, 0, 6)), (3, row(&front, 6, 1, 6))] {
            assert_eq!(row(&whole, 9, r, 6), key_row, "row {r}");
        }
        // Rows are not all alike, and a set that does not fit the batch keys rows by index.
        assert_ne!(row(&whole, 9, 0, 6), row(&whole, 9, 1, 6));
        seed_dropout_rows(5, vec![vec![1, 2, 3]]);
        let by_index = train_mask_3d(&dropout, [4, 9, 16]);
        seed_dropout_rows(5, vec![vec![0, 1, 2, 3]]);
        assert_eq!(train_mask_3d(&dropout, [4, 9, 16]), by_index);
    }

    #[test]
    fn a_shared_tensor_ignores_the_row_keys() {
        let dropout = Dropout::new(0.5);
        let ones = || Tensor::<Train, 2>::ones([4, 32], &Default::default());
        seed_dropout_rows(8, vec![vec![1, 2, 3, 4]]);
        let a: Vec<f32> = dropout
            .forward_shared(ones(), 0)
            .into_data()
            .to_vec()
            .unwrap();
        seed_dropout_rows(8, vec![vec![5, 6, 7, 8]]);
        let b: Vec<f32> = dropout
            .forward_shared(ones(), 0)
            .into_data()
            .to_vec()
            .unwrap();
        assert_eq!(a, b);
        seed_dropout_rows(8, vec![vec![5, 6, 7, 8]]);
        let c: Vec<f32> = dropout.forward(ones()).into_data().to_vec().unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn the_mask_does_not_depend_on_the_thread_count() {
        let key = splitmix64(99);
        let dims = [3, 41, 37, 29];
        let rows = [7, 8, 9];
        let all = host_mask(&dims, 0.7, 2.0, key, Some(&rows));
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| host_mask(&dims, 0.7, 2.0, key, Some(&rows)));
        assert_eq!(all, one);
    }

    #[test]
    fn is_the_identity_without_autodiff_or_probability() {
        let values = Tensor::<Flex, 1>::from_floats([1.0, -2.0, 3.0], &Default::default());
        let out = Dropout::new(0.5).forward(values.clone());
        assert_eq!(out.into_data(), values.into_data());
        let ones = train_mask(&Dropout::new(0.0), 10);
        assert!(ones.iter().all(|&v| v == 1.0));
    }

    #[test]
    fn gradients_flow_through_the_kept_elements() {
        seed_dropout(5);
        let device = Default::default();
        let x = Tensor::<Train, 1>::ones([1000], &device).require_grad();
        let y = Dropout::new(0.25).forward(x.clone());
        let out: Vec<f32> = y.clone().into_data().to_vec().unwrap();
        let grads = y.sum().backward();
        let grad: Vec<f32> = x.grad(&grads).unwrap().into_data().to_vec().unwrap();
        assert_eq!(grad, out);
    }
}
