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
//! `LayerNorm` → `layer_norm` and `self` → `self_attn` are the only renames Rust forces (snake case, a
//! keyword); `weight/bias` → `gamma/beta` is burn's LayerNorm naming. burn-store's
//! `PyTorchToBurnAdapter` could rename the LayerNorm parameters too, but burn-store then reports the
//! HF-named tensor as unused, so the rename is done here. The adapter still transposes `Linear`
//! weights (`[out, in]` → `[in, out]`). For export, `BurnToPyTorchAdapter` transposes back and
//! [`BURN_TO_HF`] inverts the names.

use std::sync::LazyLock;

use regex::Regex;

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
    (r"^lm_head\.", "RoBERTa masked-LM head"),
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

/// HF key (prefix stripped) → burn module path.
pub(crate) fn hf_to_burn(key: &str) -> String {
    HF_TO_BURN_RULES.apply(key)
}

/// burn module path → HF key (without prefix).
pub(crate) fn burn_to_hf(path: &str) -> String {
    BURN_TO_HF_RULES.apply(path)
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
