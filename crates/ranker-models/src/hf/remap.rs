//! Hugging Face checkpoint keys ↔ burn module paths.
//!
//! The backbone modules are named after the HF key segments, so the map is near-identity:
//!
//! ```text
//!   HF key                                                  burn module path
//!   ^(?:deberta|bert|roberta)\.  (or an explicit prefix)     (stripped; one rule, applied first)
//!   *.LayerNorm.weight                                       *.layer_norm.gamma
//!   *.LayerNorm.bias                                         *.layer_norm.beta
//!   *.LayerNorm.{gamma,beta}  (pre-2020 BERT checkpoints)    *.layer_norm.{gamma,beta}
//!   encoder.layer.{i}.attention.self.*                       encoder.layer.{i}.attention.self_attn.*
//!   everything else                                          unchanged
//! ```
//!
//! T5 checkpoints (no prefix) have their own two renames, [`HF_TO_BURN_T5`], and no LayerNorm rules
//! (T5's norms are already called `layer_norm.weight`):
//!
//! ```text
//!   encoder.block.{i}.layer.0.SelfAttention.*                encoder.block.{i}.layer.0.self_attention.*
//!   encoder.block.{i}.layer.1.DenseReluDense.*               encoder.block.{i}.layer.1.dense_relu_dense.*
//!   encoder.embed_tokens.weight  (tied to shared.weight)     shared.weight, only when the file lacks it
//! ```
//!
//! `LayerNorm` → `layer_norm` and `self` → `self_attn` are the only renames Rust forces (snake case, a
//! keyword); `weight/bias` → `gamma/beta` is burn's LayerNorm naming. burn-store's
//! `PyTorchToBurnAdapter` could rename the LayerNorm parameters too, but burn-store then reports the
//! HF-named tensor as unused, so the rename is done here. The adapter still transposes `Linear`
//! weights (`[out, in]` → `[in, out]`). For export, `BurnToPyTorchAdapter` transposes back and
//! [`BURN_TO_HF`] inverts the names.

use std::sync::LazyLock;

use burn::tensor::backend::Backend;
use regex::Regex;

use crate::backbone::Backbone;

/// The prefix rule for checkpoints of transformers' task models (`DebertaV2For…`, `BertFor…`,
/// `RobertaFor…`), whose backbone keys start with `base_model_prefix`.
pub(crate) const AUTO_PREFIX: &str = r"^(?:deberta|bert|roberta)\.";

/// HF key (prefix stripped) → burn path, applied in order.
pub(crate) const HF_TO_BURN: &[(&str, &str)] = &[
    // The two parameter renames must come before the generic `LayerNorm.` rule, which would
    // otherwise turn `LayerNorm.weight` into `layer_norm.weight` first.
    (r"(^|\.)LayerNorm\.weight$", "${1}layer_norm.gamma"),
    (r"(^|\.)LayerNorm\.bias$", "${1}layer_norm.beta"),
    (r"(^|\.)LayerNorm\.", "${1}layer_norm."),
    (r"\.attention\.self\.", ".attention.self_attn."),
];

/// burn path → HF key (prefix not yet added), applied in order; the inverse of [`HF_TO_BURN`].
/// Also accepts paths whose LayerNorm parameters `BurnToPyTorchAdapter` already renamed.
pub(crate) const BURN_TO_HF: &[(&str, &str)] = &[
    // Parameter renames first, as in HF_TO_BURN.
    (r"(^|\.)layer_norm\.gamma$", "${1}LayerNorm.weight"),
    (r"(^|\.)layer_norm\.beta$", "${1}LayerNorm.bias"),
    (r"(^|\.)layer_norm\.", "${1}LayerNorm."),
    (r"\.attention\.self_attn\.", ".attention.self."),
];

/// T5: HF key → burn path (snake case for the two CamelCase module names).
pub(crate) const HF_TO_BURN_T5: &[(&str, &str)] = &[
    (r"\.SelfAttention\.", ".self_attention."),
    (r"\.DenseReluDense\.", ".dense_relu_dense."),
];

/// T5: burn path → HF key; the inverse of [`HF_TO_BURN_T5`].
pub(crate) const BURN_TO_HF_T5: &[(&str, &str)] = &[
    (r"\.self_attention\.", ".SelfAttention."),
    (r"\.dense_relu_dense\.", ".DenseReluDense."),
];

/// T5's input embedding inside the encoder, tied to (the same tensor as) `shared.weight`.
pub(crate) const T5_TIED_EMBEDDING: &str = "encoder.embed_tokens.weight";

/// Checkpoint keys (prefix stripped) that may go unused, each with the reason.
pub(crate) const UNUSED_ALLOWLIST: &[(&str, &str)] = &[
    (
        r"^embeddings\.position_ids$",
        "buffer saved by transformers < 4.31; positions are recomputed",
    ),
    (r"^embeddings\.token_type_ids$", "buffer, not a parameter"),
    (
        r"^embeddings\.position_embeddings\.weight$",
        "DeBERTa checkpoints with position_biased_input=false may carry it; transformers ignores it (_keys_to_ignore_on_load_unexpected)",
    ),
    (r"^pooler\.", "pooler of the HF model; the rankers pool themselves"),
    (r"^cls\.", "BERT pre-training heads (MLM, next-sentence)"),
    (r"^lm_head\.", "language-model head (RoBERTa masked LM, T5)"),
    (
        r"^decoder\.",
        "decoder of a full T5 checkpoint; the backbone is the encoder",
    ),
    (
        r"^encoder\.embed_tokens\.weight$",
        "T5's encoder embedding, tied to shared.weight",
    ),
    (r"^lm_predictions\.", "DeBERTa masked-LM head"),
    (r"^mask_predictions\.", "DeBERTa-v3 replaced-token-detection head"),
    (r"^classifier\.", "task head of a *ForSequenceClassification checkpoint"),
];

struct Rules(Vec<(Regex, &'static str)>);

impl Rules {
    fn compile(rules: &'static [(&'static str, &'static str)]) -> Self {
        Self(
            rules
                .iter()
                .map(|(pattern, replacement)| {
                    (Regex::new(pattern).expect("static regex"), *replacement)
                })
                .collect(),
        )
    }

    fn apply(&self, key: &str) -> String {
        self.0.iter().fold(key.to_string(), |k, (re, rep)| {
            re.replace_all(&k, *rep).into_owned()
        })
    }
}

static HF_TO_BURN_RULES: LazyLock<Rules> = LazyLock::new(|| Rules::compile(HF_TO_BURN));
static BURN_TO_HF_RULES: LazyLock<Rules> = LazyLock::new(|| Rules::compile(BURN_TO_HF));
static HF_TO_BURN_T5_RULES: LazyLock<Rules> = LazyLock::new(|| Rules::compile(HF_TO_BURN_T5));
static BURN_TO_HF_T5_RULES: LazyLock<Rules> = LazyLock::new(|| Rules::compile(BURN_TO_HF_T5));
static AUTO_PREFIX_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(AUTO_PREFIX).expect("static regex"));
static ALLOWLIST: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    UNUSED_ALLOWLIST
        .iter()
        .map(|(p, why)| (Regex::new(p).expect("static regex"), *why))
        .collect()
});

/// Key prefix of the backbone in ranker checkpoints (`llm-blender/PairRM`'s layout, and ours).
pub(crate) const RANKER_BACKBONE_PREFIX: &str = "pretrained_model.";

/// Which checkpoint keys belong to the backbone and what to strip from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prefix<'a> {
    /// Every key is a backbone key; [`AUTO_PREFIX`] is stripped where present.
    Auto,
    /// Only keys starting with this string are backbone keys; it is stripped (`""`: every key).
    Exact(&'a str),
}

impl Prefix<'_> {
    /// The key without its prefix, or `None` if it is not a backbone key.
    pub(crate) fn strip<'k>(&self, key: &'k str) -> Option<&'k str> {
        match self {
            Self::Auto => Some(match AUTO_PREFIX_RE.find(key) {
                Some(m) => &key[m.end()..],
                None => key,
            }),
            Self::Exact(prefix) => key.strip_prefix(prefix),
        }
    }
}

/// Which key rules an architecture's checkpoints follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyMap {
    /// DeBERTa-v2, BERT, RoBERTa, XLM-RoBERTa: [`HF_TO_BURN`] / [`BURN_TO_HF`].
    BertFamily,
    /// T5: [`HF_TO_BURN_T5`] / [`BURN_TO_HF_T5`].
    T5,
}

impl KeyMap {
    /// The rules of `backbone`'s architecture.
    pub(crate) fn of<B: Backend>(backbone: &Backbone<B>) -> Self {
        match backbone {
            Backbone::T5(_) => Self::T5,
            Backbone::DebertaV2(_) | Backbone::Bert(_) | Backbone::Roberta(_) => Self::BertFamily,
        }
    }

    /// HF key (prefix stripped) → burn module path.
    pub(crate) fn hf_to_burn(self, key: &str) -> String {
        match self {
            Self::BertFamily => HF_TO_BURN_RULES.apply(key),
            Self::T5 => HF_TO_BURN_T5_RULES.apply(key),
        }
    }

    /// burn module path → HF key (without prefix).
    pub(crate) fn burn_to_hf(self, path: &str) -> String {
        match self {
            Self::BertFamily => BURN_TO_HF_RULES.apply(path),
            Self::T5 => BURN_TO_HF_T5_RULES.apply(path),
        }
    }
}

/// HF key (prefix stripped) → burn module path, for the BERT family.
#[cfg(test)]
fn hf_to_burn(key: &str) -> String {
    KeyMap::BertFamily.hf_to_burn(key)
}

/// burn module path → HF key (without prefix), for the BERT family.
#[cfg(test)]
fn burn_to_hf(path: &str) -> String {
    KeyMap::BertFamily.burn_to_hf(path)
}

/// Why an unused key (prefix stripped) may be ignored, if it may.
pub(crate) fn allowed_unused(key: &str) -> Option<&'static str> {
    ALLOWLIST
        .iter()
        .find(|(re, _)| re.is_match(key))
        .map(|(_, why)| *why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_identity_both_ways() {
        let cases = [
            ("embeddings.LayerNorm.weight", "embeddings.layer_norm.gamma"),
            (
                "encoder.layer.3.attention.self.query_proj.bias",
                "encoder.layer.3.attention.self_attn.query_proj.bias",
            ),
            (
                "encoder.layer.0.attention.output.LayerNorm.bias",
                "encoder.layer.0.attention.output.layer_norm.beta",
            ),
            ("encoder.LayerNorm.weight", "encoder.layer_norm.gamma"),
            (
                "encoder.rel_embeddings.weight",
                "encoder.rel_embeddings.weight",
            ),
        ];
        for (hf, burn) in cases {
            assert_eq!(hf_to_burn(hf), burn);
            assert_eq!(burn_to_hf(burn), hf);
        }
        assert_eq!(
            hf_to_burn("embeddings.LayerNorm.gamma"),
            "embeddings.layer_norm.gamma"
        );
        assert_eq!(
            burn_to_hf("embeddings.layer_norm.weight"),
            "embeddings.LayerNorm.weight"
        );
    }

    #[test]
    fn t5_keys_both_ways() {
        let cases = [
            (
                "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
                "encoder.block.0.layer.0.self_attention.relative_attention_bias.weight",
            ),
            (
                "encoder.block.3.layer.1.DenseReluDense.wi_0.weight",
                "encoder.block.3.layer.1.dense_relu_dense.wi_0.weight",
            ),
            (
                "encoder.block.1.layer.0.layer_norm.weight",
                "encoder.block.1.layer.0.layer_norm.weight",
            ),
            (
                "encoder.final_layer_norm.weight",
                "encoder.final_layer_norm.weight",
            ),
            ("shared.weight", "shared.weight"),
        ];
        for (hf, burn) in cases {
            assert_eq!(KeyMap::T5.hf_to_burn(hf), burn);
            assert_eq!(KeyMap::T5.burn_to_hf(burn), hf);
        }
        assert!(allowed_unused("decoder.block.0.layer.2.DenseReluDense.wo.weight").is_some());
        assert!(allowed_unused(T5_TIED_EMBEDDING).is_some());
    }

    #[test]
    fn prefixes() {
        assert_eq!(Prefix::Auto.strip("deberta.encoder.x"), Some("encoder.x"));
        assert_eq!(Prefix::Auto.strip("encoder.x"), Some("encoder.x"));
        assert_eq!(
            Prefix::Auto.strip("roberta.embeddings.y"),
            Some("embeddings.y")
        );
        let pairrm = Prefix::Exact("pretrained_model.");
        assert_eq!(
            pairrm.strip("pretrained_model.encoder.x"),
            Some("encoder.x")
        );
        assert_eq!(pairrm.strip("head_layer.0.weight"), None);
        assert_eq!(Prefix::Exact("").strip("anything"), Some("anything"));
    }

    #[test]
    fn allowlist() {
        assert!(allowed_unused("embeddings.position_ids").is_some());
        assert!(allowed_unused("lm_predictions.lm_head.bias").is_some());
        assert!(allowed_unused("encoder.layer.0.attention.self.query_proj.weight").is_none());
    }
}
