use burn::tensor::{backend::Backend, Tensor};

/// Binary cross-entropy on logits, mean over all elements.
///
/// ```text
/// BCEWithLogits(x, y) = mean( max(x, 0) − x·y + log(1 + exp(−|x|)) )
/// ```
/// Torch reference: `torch.nn.functional.binary_cross_entropy_with_logits(x, y)` (reduction `mean`), which uses
/// the same overflow-free form.
///
/// # Shapes
/// - `logits`, `labels`: `[d0, d1, …]` (same shape)
/// - output: `[1]`
pub fn bce_with_logits<B: Backend, const D: usize>(
    logits: Tensor<B, D>,
    labels: Tensor<B, D>,
) -> Tensor<B, 1> {
    let positive_part = logits.clone().clamp_min(0.0);
    let log_term = logits.clone().abs().neg().exp().log1p();
    (positive_part - logits * labels + log_term).mean()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::TensorData;

    #[test]
    fn matches_the_closed_form_for_small_and_large_logits() {
        let device = Default::default();
        let x = Tensor::<Flex, 1>::from_floats([0.0, 2.0, -3.0, 100.0, -100.0], &device);
        let y = Tensor::<Flex, 1>::from_floats([1.0, 0.0, 1.0, 1.0, 0.0], &device);
        // Per element: ln 2, 2 + ln(1+e^-2), 3 + ln(1+e^-3), ~0, ~0.
        let expected =
            (2f64.ln() + 2.0 + (-2f64).exp().ln_1p() + 3.0 + (-3f64).exp().ln_1p()) / 5.0;
        let got = bce_with_logits(x, y).into_data();
        got.assert_approx_eq::<f32>(
            &TensorData::from([expected as f32]),
            burn::tensor::Tolerance::absolute(1e-6),
        );
    }
}
