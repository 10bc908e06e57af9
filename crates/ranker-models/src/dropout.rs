//! Dropout whose mask is drawn in parallel on the host when the tensors live there.
//!
//! burn's `nn::Dropout` samples its Bernoulli mask element by element from one ChaCha stream on one
//! thread; on the CPU backend that cost a fifth of a PairRanker training step. Here, on the host
//! (burn Flex), mask element `k` of the `c`-th dropout call on a thread is a pure function of
//! `(seed, c, k)` (a SplitMix64 hash), so the mask is filled by all threads at once and does not depend
//! on how many there are. On other devices (CUDA) the mask is sampled on the device by the backend, as
//! burn does, seeded by `Backend::seed`.
//!
//! The host stream is per thread: [`seed_dropout`] sets the calling thread's seed and restarts its call
//! counter, so a training step that seeds before its forward pass draws the same masks however often it
//! is replayed (exact resume).

use std::any::TypeId;
use std::cell::Cell;

use burn::module::{Content, DisplaySettings, Module, ModuleDisplay};
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor, TensorData};
use burn_flex::FlexDevice;
use rayon::prelude::*;

thread_local! {
    /// `(seed, calls since the seed)` of this thread's host mask stream.
    static HOST_STREAM: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// Seeds the calling thread's host dropout stream and restarts its call counter.
pub fn seed_dropout(seed: u64) {
    HOST_STREAM.with(|s| s.set((seed, 0)));
}

/// Takes the key of the next dropout call on this thread.
fn next_call_key() -> u64 {
    HOST_STREAM.with(|s| {
        let (seed, calls) = s.get();
        s.set((seed, calls + 1));
        splitmix64(splitmix64(seed) ^ calls)
    })
}

/// SplitMix64's output function of `x + γ`: a fast, well-mixed 64-bit hash.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Elements per parallel task; each task's stream position follows from its index alone.
const CHUNK: usize = 1 << 15;

/// `len` mask values, each `scale` with probability `keep` and 0 otherwise.
fn host_mask(len: usize, keep: f64, scale: f32, key: u64) -> Vec<f32> {
    // Keep when a uniform 32-bit draw is below keep·2³² (exactly 2³² for keep = 1).
    let threshold = (keep * 4_294_967_296.0) as u64;
    let mut mask = vec![0.0f32; len];
    mask.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(chunk, values)| {
            let first = (chunk * CHUNK) as u64;
            for (pair, two) in values.chunks_mut(2).enumerate() {
                let bits = splitmix64(key ^ splitmix64((first / 2) + pair as u64));
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

    /// # Shapes
    /// - input, output: `[..., any]`
    pub fn forward<B: Backend, const D: usize>(&self, input: Tensor<B, D>) -> Tensor<B, D> {
        let device = input.device();
        if !B::ad_enabled(&device) || self.prob == 0.0 {
            return input;
        }
        let keep = 1.0 - self.prob;
        if TypeId::of::<B::Device>() == TypeId::of::<FlexDevice>() {
            let shape = input.shape();
            let scale = (1.0 / keep) as f32;
            let mask = host_mask(shape.num_elements(), keep, scale, next_call_key());
            let mask = Tensor::<B, D>::from_data(TensorData::new(mask, shape), &device);
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
    fn the_mask_does_not_depend_on_the_thread_count() {
        let key = splitmix64(99);
        let all = host_mask(3 * CHUNK + 7, 0.7, 2.0, key);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| host_mask(3 * CHUNK + 7, 0.7, 2.0, key));
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
