/// PairRanker's source marker, pooled for the source representation.
pub const SOURCE_MARKER: &str = "<|source|>";
/// PairRanker's marker for the first candidate of a pair.
pub const CANDIDATE1_MARKER: &str = "<|candidate1|>";
/// PairRanker's marker for the second candidate of a pair.
pub const CANDIDATE2_MARKER: &str = "<|candidate2|>";
/// PairRanker's marker put before every candidate at collation, replaced by the slot marker when pairs are built.
pub const CANDIDATE_MARKER: &str = "<|candidate|>";
/// The four PairRanker markers in the order `CrossCompareCollator` adds them to the vocabulary.
pub const PAIR_MARKERS: [&str; 4] = [
    SOURCE_MARKER,
    CANDIDATE1_MARKER,
    CANDIDATE2_MARKER,
    CANDIDATE_MARKER,
];

/// SimCLS' source prefix (an added token; SummaReranker uses the same text without adding it).
pub const DUAL_SOURCE_PREFIX: &str = "<source>";
/// SimCLS' candidate prefix (an added token; SummaReranker uses the same text without adding it).
pub const DUAL_CANDIDATE_PREFIX: &str = "<candidate>";

/// Token ids of the PairRanker markers in one tokenizer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairMarkerIds {
    /// `<|source|>`.
    pub source: u32,
    /// `<|candidate1|>`.
    pub candidate1: u32,
    /// `<|candidate2|>`.
    pub candidate2: u32,
    /// `<|candidate|>`.
    pub candidate: u32,
}

impl PairMarkerIds {
    /// From ids in [`PAIR_MARKERS`] order.
    pub fn from_ids(ids: [u32; 4]) -> Self {
        Self {
            source: ids[0],
            candidate1: ids[1],
            candidate2: ids[2],
            candidate: ids[3],
        }
    }

    /// All four ids, in [`PAIR_MARKERS`] order.
    pub fn all(&self) -> [u32; 4] {
        [
            self.source,
            self.candidate1,
            self.candidate2,
            self.candidate,
        ]
    }

    /// The marker text of an id, if it is one of the four.
    pub fn name_of(&self, id: u32) -> Option<&'static str> {
        self.all()
            .iter()
            .position(|&m| m == id)
            .map(|i| PAIR_MARKERS[i])
    }
}

/// Makes user text unable to produce a PairRanker marker token, and changes nothing else.
///
/// Only the four exact marker strings are neutralized, by a space after their `<` (`"<|source|>"` →
/// `"< |source|>"`), so that the only marker tokens in a collated row are the ones collation puts there. Every
/// other text — chat templates such as `<|im_end|>` or `<|user|>`, a lone `<|`, literal `[SEP]` / `[CLS]` — reaches
/// the tokenizer unchanged, as in the reference, which does not escape at all (its pooling breaks on text that
/// contains a marker); so parity with the reference holds for every input the reference can handle.
pub fn escape_pair_markers(text: &str) -> std::borrow::Cow<'_, str> {
    if !PAIR_MARKERS.iter().any(|m| text.contains(m)) {
        return std::borrow::Cow::Borrowed(text);
    }
    // Inserting a space never creates a `<|`, so one pass per marker removes them all; looping keeps that true
    // whatever the order of the markers.
    let mut escaped = text.to_owned();
    while let Some(marker) = PAIR_MARKERS.iter().find(|m| escaped.contains(*m)) {
        escaped = escaped.replace(marker, &format!("< {}", &marker[1..]));
    }
    std::borrow::Cow::Owned(escaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_text_contains_no_marker() {
        let nasty = "a<|source|>b<|candidate1|><|<|candidate|>|><|<|candidate2|>source|>";
        let escaped = escape_pair_markers(nasty);
        for marker in PAIR_MARKERS {
            assert!(!escaped.contains(marker), "{escaped}");
        }
        assert_eq!(
            escaped,
            "a< |source|>b< |candidate1|><|< |candidate|>|><|< |candidate2|>source|>"
        );
    }

    #[test]
    fn other_text_is_unchanged() {
        for text in [
            "plain <text>",
            "<|im_start|>user\nhi<|im_end|>",
            "<|endoftext|><|user|><|assistant|>",
            "a <| b |> <|source <|candidate|",
            "[SEP] [CLS] é😀",
            "",
        ] {
            assert!(
                matches!(escape_pair_markers(text), std::borrow::Cow::Borrowed(t) if t == text),
                "{text}"
            );
        }
        assert_eq!(
            escape_pair_markers("<|im_end|><|candidate|>"),
            "<|im_end|>< |candidate|>"
        );
    }

    #[test]
    fn ids_name_their_marker() {
        let ids = PairMarkerIds::from_ids([10, 11, 12, 13]);
        assert_eq!(ids.name_of(12), Some(CANDIDATE2_MARKER));
        assert_eq!(ids.name_of(9), None);
    }
}
