//! `hidden_act`: the feed-forward activations of the HF configs we support.

use burn::tensor::{activation, backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

/// The `hidden_act` value of a HF config, as transformers' `ACT2FN` names it.
///
/// Names outside this list fail to parse, so `config.json` loading reports the unsupported
/// `hidden_act` by name instead of silently substituting another activation.
// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/activations.py#L324
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HiddenAct {
    /// Exact GELU, `x·Φ(x)` with the error function (`nn.functional.gelu`).
    Gelu,
    /// Exact GELU written out in Python (`x·0.5·(1+erf(x/√2))`); same function as [`HiddenAct::Gelu`].
    GeluPython,
    /// Tanh approximation of GELU (`NewGELUActivation`, GPT-2's).
    GeluNew,
    /// Tanh approximation of GELU (`nn.functional.gelu(approximate="tanh")`).
    GeluPytorchTanh,
    /// Tanh approximation of GELU written out in Python.
    GeluPythonTanh,
    /// Tanh approximation of GELU in the factored form `0.5x(1+tanh(0.79788456x(1+0.044715x²)))`.
    GeluFast,
    /// `x·sigmoid(1.702x)`.
    QuickGelu,
    /// `max(x, 0)`.
    Relu,
    /// `x·sigmoid(x)`.
    Silu,
    /// `x·sigmoid(x)` (`nn.SiLU` under its other name).
    Swish,
    /// `tanh(x)`.
    Tanh,
    /// `sigmoid(x)`.
    Sigmoid,
}

impl HiddenAct {
    /// Applies the activation element-wise.
    ///
    /// # Shapes
    /// - input: `[..., any]`
    /// - output: same as input
    pub fn forward<B: Backend, const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Self::Gelu | Self::GeluPython => activation::gelu(x),
            // The three tanh forms are the same function; they differ only in rounding.
            Self::GeluNew | Self::GeluPytorchTanh | Self::GeluPythonTanh | Self::GeluFast => {
                activation::gelu_approximate(x)
            }
            Self::QuickGelu => x.clone() * activation::sigmoid(x * 1.702),
            Self::Relu => activation::relu(x),
            Self::Silu | Self::Swish => activation::silu(x),
            Self::Tanh => activation::tanh(x),
            Self::Sigmoid => activation::sigmoid(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn parses_hf_names() {
        let parsed: Vec<HiddenAct> = serde_json::from_str(
            r#"["gelu", "gelu_new", "gelu_pytorch_tanh", "quick_gelu", "relu", "swish"]"#,
        )
        .unwrap();
        assert_eq!(
            parsed,
            [
                HiddenAct::Gelu,
                HiddenAct::GeluNew,
                HiddenAct::GeluPytorchTanh,
                HiddenAct::QuickGelu,
                HiddenAct::Relu,
                HiddenAct::Swish
            ]
        );
        let err = serde_json::from_str::<HiddenAct>(r#""gelu_10""#).unwrap_err();
        assert!(err.to_string().contains("gelu_10"), "{err}");
    }

    #[test]
    fn known_values() {
        let device = Default::default();
        let x = Tensor::<Flex, 1>::from_floats([-1.0, 0.5, 2.0], &device);
        let close = |act: HiddenAct, expected: [f32; 3]| {
            let got = act.forward(x.clone()).into_data().to_vec::<f32>().unwrap();
            for (g, e) in got.iter().zip(expected) {
                assert!((g - e).abs() < 1e-5, "{act:?}: {got:?} vs {expected:?}");
            }
        };
        // torch.nn.functional.gelu(torch.tensor([-1.0, 0.5, 2.0])) (and approximate="tanh")
        close(HiddenAct::Gelu, [-0.158_655_26, 0.345_731_23, 1.954_499_7]);
        close(HiddenAct::GeluNew, [-0.158_808_01, 0.345_714, 1.954_597_7]);
        close(
            HiddenAct::QuickGelu,
            [-0.154_204_23, 0.350_388_44, 1.935_658_6],
        );
        close(HiddenAct::Relu, [0.0, 0.5, 2.0]);
    }
}
