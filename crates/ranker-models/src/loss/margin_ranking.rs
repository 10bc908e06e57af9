use burn::tensor::{backend::Backend, Tensor};

/// Margin ranking loss with target `+1` (the first input should rank higher), mean over elements.
///
/// ```text
/// L(x1, x2) = mean max(0, −(x1 − x2) + margin)
/// ```
/// Torch reference: `torch.nn.MarginRankingLoss(margin)(x1, x2, torch.ones_like(x1))`. burn 0.21 has no
/// margin-ranking loss, so this is the one place it is written.
///
/// # Shapes
/// - `x1`, `x2`: `[d0, …]` (same shape)
/// - output: `[1]`
pub fn margin_ranking_loss<B: Backend, const D: usize>(
    x1: Tensor<B, D>,
    x2: Tensor<B, D>,
    margin: f64,
) -> Tensor<B, 1> {
    (x2 - x1).add_scalar(margin).clamp_min(0.0).mean()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::{TensorData, Tolerance};

    #[test]
    fn only_violations_count() {
        let device = Default::default();
        let x1 = Tensor::<Flex, 1>::from_floats([0.9, 0.2, 0.5], &device);
        let x2 = Tensor::<Flex, 1>::from_floats([0.1, 0.4, 0.45], &device);
        // margin 0.1: max(0, −0.8+0.1)=0, max(0, 0.2+0.1)=0.3, max(0, −0.05+0.1)=0.05
        margin_ranking_loss(x1, x2, 0.1)
            .into_data()
            .assert_approx_eq::<f32>(
                &TensorData::from([0.35f32 / 3.0]),
                Tolerance::absolute(1e-6),
            );
    }
}
