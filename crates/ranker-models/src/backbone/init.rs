//! Layers initialised the way transformers' `PreTrainedModel._init_weights` does it, and the
//! embedding-matrix resize.
//!
//! `_init_weights` (transformers v5.24.0 `modeling_utils.py` L2304): `nn.Linear` weight ~ N(0, σ) and
//! bias = 0; `nn.Embedding` weight ~ N(0, σ) with the `padding_idx` row zeroed; `LayerNorm` weight = 1,
//! bias = 0; σ = `config.initializer_range`.

use burn::module::{Initializer, Param};
use burn::nn::{Embedding, LayerNorm, LayerNormConfig, Linear};
use burn::tensor::{backend::Backend, Distribution, Tensor};
use serde::{Deserialize, Serialize};

use crate::dropout::Dropout;

/// A `Linear` with weight ~ N(0, `std`) (stored `[d_input, d_output]`) and a zero bias.
pub(crate) fn linear<B: Backend>(
    d_input: usize,
    d_output: usize,
    bias: bool,
    std: f64,
    device: &B::Device,
) -> Linear<B> {
    Linear {
        weight: Initializer::Normal { mean: 0.0, std }.init_with(
            [d_input, d_output],
            Some(d_input),
            Some(d_output),
            device,
        ),
        bias: bias.then(|| Initializer::Zeros.init([d_output], device)),
    }
}

/// An `Embedding` with weight ~ N(0, `std`) and, when given, the `padding_idx` row zeroed.
pub(crate) fn embedding<B: Backend>(
    n_embedding: usize,
    d_model: usize,
    std: f64,
    padding_idx: Option<usize>,
    device: &B::Device,
) -> Embedding<B> {
    let mut weight = Tensor::random(
        [n_embedding, d_model],
        Distribution::Normal(0.0, std),
        device,
    );
    if let Some(pad) = padding_idx.filter(|&pad| pad < n_embedding) {
        weight = weight.slice_assign(
            [pad..pad + 1, 0..d_model],
            Tensor::zeros([1, d_model], device),
        );
    }
    Embedding {
        weight: Param::from_tensor(weight),
    }
}

/// A `LayerNorm` with weight 1, bias 0 and the config's epsilon.
pub(crate) fn layer_norm<B: Backend>(d_model: usize, eps: f64, device: &B::Device) -> LayerNorm<B> {
    LayerNormConfig::new(d_model).with_epsilon(eps).init(device)
}

/// A dropout layer; `prob` comes from a validated config, so it is within `[0, 1]`.
pub(crate) fn dropout(prob: f64) -> Dropout {
    Dropout::new(prob)
}

/// How rows added by [`Backbone::resize_token_embeddings_with`](crate::Backbone::resize_token_embeddings_with)
/// are initialised.
///
/// transformers' `resize_token_embeddings` changed behaviour over time:
/// - up to 4.45 (the 2023-era 4.2x–4.3x that trained LLM-Blender's PairRanker and PairRM) new rows were
///   drawn by `_init_weights`: N(0, `initializer_range`), see [`NewRowInit::Normal`];
/// - from 4.46 (and in the v5.24 installed for our fixtures) `mean_resizing=True` is the default: new
///   rows are sampled from a Gaussian with the old rows' mean and `1e-9` × their covariance, i.e. the mean
///   embedding plus noise about 3·10⁻⁵ of the embeddings' spread, see [`NewRowInit::Mean`] (which omits
///   that noise).
///
/// The default is [`NewRowInit::Normal`]: we reproduce the reference's training, and the released
/// checkpoints' marker rows were initialised that way.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NewRowInit {
    /// N(0, `initializer_range`), as transformers ≤ 4.45 did.
    #[default]
    Normal,
    /// The mean of the existing rows, as transformers ≥ 4.46 does (without its 1e-9-covariance noise).
    Mean,
}

/// Grows (new rows per `init`), shrinks (drops rows from the end) or keeps an embedding matrix.
pub(crate) fn resize_embedding<B: Backend>(
    embedding: Embedding<B>,
    new_rows: usize,
    init: NewRowInit,
    std: f64,
    device: &B::Device,
) -> Embedding<B> {
    let [old_rows, d_model] = embedding.weight.dims();
    if new_rows == old_rows {
        return embedding;
    }
    let id = embedding.weight.id;
    let old = embedding.weight.val();
    let weight = if new_rows < old_rows {
        old.slice([0..new_rows, 0..d_model])
    } else {
        let added = new_rows - old_rows;
        let rows = match init {
            NewRowInit::Normal => {
                Tensor::random([added, d_model], Distribution::Normal(0.0, std), device)
            }
            NewRowInit::Mean => old.clone().mean_dim(0).repeat_dim(0, added),
        };
        Tensor::cat(vec![old, rows], 0)
    };
    Embedding {
        weight: Param::initialized(id, weight),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn embedding_zeroes_padding_row() {
        let device = Default::default();
        let emb = embedding::<Flex>(5, 3, 0.5, Some(2), &device);
        let w = emb.weight.val().into_data().to_vec::<f32>().unwrap();
        assert_eq!(&w[6..9], &[0.0, 0.0, 0.0]);
        assert!(w[0..6].iter().any(|v| *v != 0.0));
    }

    #[test]
    fn linear_has_zero_bias_and_row_layout() {
        let device = Default::default();
        let lin = linear::<Flex>(4, 6, true, 0.2, &device);
        assert_eq!(lin.weight.dims(), [4, 6]);
        let b = lin.bias.unwrap().val().into_data().to_vec::<f32>().unwrap();
        assert!(b.iter().all(|v| *v == 0.0));
    }

    #[test]
    fn resize_keeps_old_rows() {
        let device = Default::default();
        let emb = embedding::<Flex>(4, 3, 1.0, None, &device);
        let old = emb.weight.val().into_data().to_vec::<f32>().unwrap();
        let grown = resize_embedding(emb.clone(), 6, NewRowInit::Mean, 0.02, &device);
        let g = grown.weight.val().into_data().to_vec::<f32>().unwrap();
        assert_eq!(&g[..12], &old[..]);
        for c in 0..3 {
            let mean = (0..4).map(|r| old[r * 3 + c]).sum::<f32>() / 4.0;
            assert!((g[12 + c] - mean).abs() < 1e-6);
            assert!((g[15 + c] - mean).abs() < 1e-6);
        }
        let shrunk = resize_embedding(emb, 2, NewRowInit::Normal, 0.02, &device);
        let s = shrunk.weight.val().into_data().to_vec::<f32>().unwrap();
        assert_eq!(&s[..], &old[..6]);
    }
}
