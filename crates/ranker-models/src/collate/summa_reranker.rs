//! SummaReranker collation (`SCRCollator`).
// https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/collator.py#L56

use std::path::Path;

use super::markers::{DUAL_CANDIDATE_PREFIX, DUAL_SOURCE_PREFIX};
use super::pair_ranker::RankText;
use super::text_encoder::{TextEncoder, TokenizerSettings};
use super::token_matrix::TokenMatrix;
use crate::error::LoadError;

/// A SummaReranker batch: one row per (item, candidate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScrBatch {
    /// `[items · n_candidates, max_length]`, item-major, padded to the collator's `max_length` as the reference.
    pub tokens: TokenMatrix,
    /// Number of items.
    pub n_items: usize,
    /// Candidates per item (the same for every item).
    pub n_candidates: usize,
}

impl ScrBatch {
    /// Keeps, for every item `b`, the candidates `selected[b]` in that order (training-time sub-sampling; compute
    /// labels over all candidates first).
    ///
    /// # Errors
    /// If `selected` does not have one row per item, rows differ in length, or a candidate is out of range.
    pub fn select(&self, selected: &[Vec<usize>]) -> Result<ScrBatch, LoadError> {
        let keep = selected.first().map_or(0, Vec::len);
        if selected.len() != self.n_items {
            return Err(LoadError::SelectionCount {
                found: selected.len(),
                expected: self.n_items,
            });
        }
        let mut rows = Vec::with_capacity(self.n_items * keep);
        for (item, row) in selected.iter().enumerate() {
            if row.len() != keep {
                return Err(LoadError::CandidateCount {
                    item,
                    found: row.len(),
                    expected: keep,
                });
            }
            for &c in row {
                if c >= self.n_candidates {
                    return Err(LoadError::PairIndex {
                        item,
                        reason: format!("candidate {c} of {}", self.n_candidates),
                    });
                }
                rows.push(item * self.n_candidates + c);
            }
        }
        let cols = self.tokens.cols;
        let mut ids = Vec::with_capacity(rows.len() * cols);
        let mut mask = Vec::with_capacity(rows.len() * cols);
        for &r in &rows {
            ids.extend_from_slice(self.tokens.row_ids(r));
            mask.extend_from_slice(self.tokens.row_mask(r));
        }
        Ok(ScrBatch {
            tokens: TokenMatrix {
                ids,
                mask,
                rows: rows.len(),
                cols,
            },
            n_items: self.n_items,
            n_candidates: keep,
        })
    }
}

/// SummaReranker's collation, exactly as the reference's `SCRCollator`:
///
/// ```text
/// s  = decode(encode(source,    max_length = source_maxlength),    skip_special_tokens)     text-level truncation
/// c  = decode(encode(candidate, max_length = candidate_maxlength), skip_special_tokens)
/// row = encode("<source>" + s + SEP_TEXT + "<candidate>" + c,
///              max_length = min(model_max_length, source_maxlength + candidate_maxlength + 3), padding = max_length)
/// ```
/// `SEP_TEXT` is the separator's text (`[SEP]`, `</s>`), which tokenizes back to the separator. `<source>` and
/// `<candidate>` are **not** added tokens here: they tokenize as ordinary sub-words. SummaReranker pools the first
/// token, so no marker handling is needed.
#[derive(Clone, Debug)]
pub struct ScrCollator {
    encoder: TextEncoder,
    source_maxlength: usize,
    candidate_maxlength: usize,
    max_length: usize,
}

impl ScrCollator {
    /// # Errors
    /// If a max length cannot hold the special tokens plus one token.
    pub fn new(
        encoder: TextEncoder,
        source_maxlength: usize,
        candidate_maxlength: usize,
    ) -> Result<Self, LoadError> {
        let min = encoder.min_max_length();
        for (key, value) in [
            ("source_maxlength", source_maxlength),
            ("candidate_maxlength", candidate_maxlength),
        ] {
            if value < min {
                return Err(LoadError::LengthBudget { key, value, min });
            }
        }
        let joint = source_maxlength + candidate_maxlength + 3;
        let max_length = encoder
            .settings()
            .model_max_length
            .map_or(joint, |m| m.min(joint));
        if max_length < min {
            return Err(LoadError::LengthBudget {
                key: "model_max_length",
                value: max_length,
                min,
            });
        }
        Ok(Self {
            encoder,
            source_maxlength,
            candidate_maxlength,
            max_length,
        })
    }

    /// Loads the tokenizer files in `dir`.
    pub fn from_dir(
        dir: &Path,
        source_maxlength: usize,
        candidate_maxlength: usize,
    ) -> Result<Self, LoadError> {
        let tokenizer = crate::tokenizer::load_tokenizer(dir)?;
        let encoder = TextEncoder::new(tokenizer, TokenizerSettings::from_dir(dir)?, dir)?;
        Self::new(encoder, source_maxlength, candidate_maxlength)
    }

    /// The text encoder.
    pub fn encoder(&self) -> &TextEncoder {
        &self.encoder
    }

    /// The padded row length.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    fn truncate_text(
        &self,
        text: &str,
        max_length: usize,
        index: usize,
    ) -> Result<String, LoadError> {
        let ids = self.encoder.encode_truncated(text, max_length, index)?;
        self.encoder.decode(&ids, index)
    }

    /// Tokenizes and lays out a batch.
    ///
    /// # Errors
    /// A tokenizer failure, or items with different candidate counts (named by index).
    pub fn collate(&self, items: &[RankText<'_>]) -> Result<ScrBatch, LoadError> {
        let n_candidates = items.first().map_or(0, |i| i.candidates.len());
        let sep = &self.encoder.special().sep_text;
        let mut rows = Vec::with_capacity(items.len() * n_candidates);
        for (index, item) in items.iter().enumerate() {
            if item.candidates.len() != n_candidates {
                return Err(LoadError::CandidateCount {
                    item: index,
                    found: item.candidates.len(),
                    expected: n_candidates,
                });
            }
            let source = self.truncate_text(item.source, self.source_maxlength, index)?;
            for candidate in &item.candidates {
                let candidate = self.truncate_text(candidate, self.candidate_maxlength, index)?;
                let text =
                    format!("{DUAL_SOURCE_PREFIX}{source}{sep}{DUAL_CANDIDATE_PREFIX}{candidate}");
                rows.push(
                    self.encoder
                        .encode_truncated(&text, self.max_length, index)?,
                );
            }
        }
        Ok(ScrBatch {
            tokens: TokenMatrix::from_rows(
                &rows,
                self.encoder.special().pad,
                Some(self.max_length),
            ),
            n_items: items.len(),
            n_candidates,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collate::text_encoder::word_level_encoder;

    #[test]
    fn source_and_candidate_are_truncated_as_text_then_joined_by_the_separator() {
        let collator = ScrCollator::new(word_level_encoder(), 4, 3).unwrap();
        assert_eq!(collator.max_length(), 10);
        let items = [RankText {
            source: "a b c d",
            candidates: vec!["e d c", "b"],
        }];
        let batch = collator.collate(&items).unwrap();
        // "a b" (4 − 2 specials) + "[SEP]" + "e"; "<source>"/"<candidate>" are not in the vocabulary: they stay
        // glued to the neighbouring word ("<source>a" → [UNK]).
        assert_eq!(batch.tokens.row_ids(0), &[2, 1, 5, 3, 1, 3, 0, 0, 0, 0]);
        assert_eq!(batch.tokens.row_ids(1), &[2, 1, 5, 3, 1, 3, 0, 0, 0, 0]);
        let picked = batch.select(&[vec![1]]).unwrap();
        assert_eq!(picked.n_candidates, 1);
        assert_eq!(picked.tokens.row_ids(0), batch.tokens.row_ids(1));
        assert!(batch.select(&[vec![2]]).is_err());
        assert!(batch.select(&[]).is_err());
    }
}
