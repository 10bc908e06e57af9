//! PairRM's per-example layout (`blender_utils.tokenize_pair`, the HF-native path of `llm-blender/PairRM`).
// https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/blender/blender_utils.py#L214

use super::markers::{escape_pair_markers, CANDIDATE1_MARKER, CANDIDATE2_MARKER, SOURCE_MARKER};
use super::pair_ranker::{PairBatch, PairRow, PairTokenizer};
use crate::error::LoadError;

/// One pair for [`PairRmLayout`]: source, candidate in slot 1, candidate in slot 2.
#[derive(Clone, Copy, Debug)]
pub struct PairText<'a> {
    /// The source (instruction + input).
    pub source: &'a str,
    /// The candidate in the `<|candidate1|>` slot.
    pub candidate1: &'a str,
    /// The candidate in the `<|candidate2|>` slot.
    pub candidate2: &'a str,
}

/// PairRM's layout with a per-example length budget:
///
/// ```text
/// source_ids = encode("<|source|>" + source, max_length = source_maxlength)            [CLS] <|source|> … [SEP]
/// budget     = (source_maxlength + 2·candidate_maxlength − len(source_ids)) / 2
/// c1_ids     = encode("<|candidate1|>" + cand1, max_length = budget)                   [CLS] <|candidate1|> … [SEP]
/// c2_ids     = encode("<|candidate2|>" + cand2, max_length = budget)
/// row        = source_ids ‖ c1_ids ‖ c2_ids, padded (a batch is trimmed to its longest row)
/// ```
/// PairRM uses 1224 / 412 (rows ≤ 2048). Unlike [`PairCollator`](super::PairCollator), the reference does not
/// replace separator strings here, and neither do we; user text is [escaped](escape_pair_markers) as there.
#[derive(Clone, Debug)]
pub struct PairRmLayout {
    tokenizer: PairTokenizer,
    source_maxlength: usize,
    candidate_maxlength: usize,
}

impl PairRmLayout {
    /// PairRM's lengths.
    pub const PAIRRM_SOURCE_MAXLENGTH: usize = 1224;
    /// PairRM's lengths.
    pub const PAIRRM_CANDIDATE_MAXLENGTH: usize = 412;

    /// # Errors
    /// If the lengths cannot hold the special tokens plus the markers.
    pub fn new(
        tokenizer: PairTokenizer,
        source_maxlength: usize,
        candidate_maxlength: usize,
    ) -> Result<Self, LoadError> {
        let min = tokenizer.encoder().min_max_length();
        if source_maxlength < min {
            return Err(LoadError::LengthBudget {
                key: "source_maxlength",
                value: source_maxlength,
                min,
            });
        }
        // The smallest candidate budget occurs when the source uses its whole length.
        if candidate_maxlength < min {
            return Err(LoadError::LengthBudget {
                key: "candidate_maxlength",
                value: candidate_maxlength,
                min,
            });
        }
        Ok(Self {
            tokenizer,
            source_maxlength,
            candidate_maxlength,
        })
    }

    /// The tokenizer with markers.
    pub fn tokenizer(&self) -> &PairTokenizer {
        &self.tokenizer
    }

    /// The total row length (`source_maxlength + 2·candidate_maxlength`).
    pub fn max_length(&self) -> usize {
        self.source_maxlength + 2 * self.candidate_maxlength
    }

    /// One row; `index` names the pair in errors.
    pub fn pair_row(&self, pair: PairText<'_>, index: usize) -> Result<PairRow, LoadError> {
        let encoder = self.tokenizer.encoder();
        let markers = self.tokenizer.markers();
        let encode = |marker: &str, text: &str, max_length: usize| {
            encoder.encode_truncated(
                &format!("{marker}{}", escape_pair_markers(text)),
                max_length,
                index,
            )
        };
        let source = encode(SOURCE_MARKER, pair.source, self.source_maxlength)?;
        let budget = (self.max_length() - source.len()) / 2;
        let candidate1 = encode(CANDIDATE1_MARKER, pair.candidate1, budget)?;
        let candidate2 = encode(CANDIDATE2_MARKER, pair.candidate2, budget)?;
        let source_pos = self
            .tokenizer
            .single_marker(&source, markers.source, index, "source")?;
        let candidate1_pos = source.len()
            + self.tokenizer.single_marker(
                &candidate1,
                markers.candidate1,
                index,
                "candidate 1",
            )?;
        let candidate2_pos = source.len()
            + candidate1.len()
            + self.tokenizer.single_marker(
                &candidate2,
                markers.candidate2,
                index,
                "candidate 2",
            )?;
        let mut ids = source;
        ids.extend(candidate1);
        ids.extend(candidate2);
        Ok(PairRow {
            ids,
            source_pos,
            candidate1_pos,
            candidate2_pos,
        })
    }

    /// Rows for `pairs`, padded into one batch.
    pub fn pairs(&self, pairs: &[PairText<'_>]) -> Result<PairBatch, LoadError> {
        let rows = pairs
            .iter()
            .enumerate()
            .map(|(i, &p)| self.pair_row(p, i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PairBatch::from_rows(
            rows,
            self.tokenizer.encoder().special().pad,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collate::text_encoder::word_level_encoder;

    #[test]
    fn the_candidate_budget_is_per_example() {
        let layout = PairRmLayout::new(PairTokenizer::new(word_level_encoder()), 6, 4).unwrap();
        assert_eq!(layout.max_length(), 14);
        // Source [CLS] <|source|> a b [SEP] = 5 tokens → budget (14 − 5) / 2 = 4 per candidate.
        let row = layout
            .pair_row(
                PairText {
                    source: "a b",
                    candidate1: "c d e",
                    candidate2: "e",
                },
                0,
            )
            .unwrap();
        assert_eq!(row.ids, vec![2, 9, 4, 5, 3, 2, 10, 6, 3, 2, 11, 8, 3]);
        assert_eq!(
            (row.source_pos, row.candidate1_pos, row.candidate2_pos),
            (1, 6, 10)
        );
        // A short source leaves more: [CLS] <|source|> [SEP] = 3 → budget 5.
        let row = layout
            .pair_row(
                PairText {
                    source: "",
                    candidate1: "c d e",
                    candidate2: "e",
                },
                0,
            )
            .unwrap();
        assert_eq!(row.ids, vec![2, 9, 3, 2, 10, 6, 7, 3, 2, 11, 8, 3]);
    }
}
