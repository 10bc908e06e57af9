//! torch's `nn.Embedding(padding_idx=…)` gradient rule.

use burn::nn::Embedding;
use burn::tensor::{backend::Backend, Int, Tensor};

/// Looks `ids` up in `embedding` like torch's `nn.Embedding(…, padding_idx=pad)`: the same values,
/// but positions holding `pad` pass no gradient back to the table, so its padding row never trains.
///
/// Without autodiff this is a plain lookup.
///
/// # Shapes
/// - ids: `[batch, seq]`
/// - output: `[batch, seq, d_model]`
pub(crate) fn embed_with_padding_idx<B: Backend>(
    embedding: &Embedding<B>,
    ids: Tensor<B, 2, Int>,
    pad: u32,
) -> Tensor<B, 3> {
    let embedded = embedding.forward(ids.clone());
    if !B::ad_enabled(&embedded.device()) {
        return embedded;
    }
    let [batch, seq] = ids.dims();
    let keep = ids
        .not_equal_elem(pad as i64)
        .float()
        .reshape([batch, seq, 1]);
    let keep = super::precision::same_dtype(keep, &embedded);
    // Exact in the forward pass: each position takes one term times 1 and the other times 0.
    embedded.clone() * keep.clone() + embedded.detach() * (keep.neg() + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::module::Param;

    #[test]
    fn padding_row_gets_no_gradient() {
        type AD = Autodiff<Flex>;
        let device = Default::default();
        let table = Tensor::<AD, 2>::from_floats([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], &device)
            .require_grad();
        let embedding = Embedding {
            weight: Param::from_tensor(table),
        };
        let ids = Tensor::<AD, 2, Int>::from_ints([[2, 0, 1, 0]], &device);
        let out = embed_with_padding_idx(&embedding, ids, 0);
        assert_eq!(
            out.to_data().to_vec::<f32>().unwrap(),
            vec![5.0, 6.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0]
        );
        let grads = out.sum().backward();
        let g = embedding.weight.val().grad(&grads).unwrap();
        assert_eq!(
            g.into_data().to_vec::<f32>().unwrap(),
            vec![0.0, 0.0, 1.0, 1.0, 1.0, 1.0]
        );
    }
}
