//! SimCLS collation (`DualCollator`).
// https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/collator.py#L100

use std::path::Path;

use super::markers::{DUAL_CANDIDATE_PREFIX, DUAL_SOURCE_PREFIX};
use super::pair_ranker::RankText;
use super::text_encoder::{TextEncoder, TokenizerSettings};
use super::token_matrix::TokenMatrix;
use crate::error::LoadError;

/// A SimCLS batch: sources, optional references (targets) and candidates, each encoded on its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DualBatch {
    /// `[items, source_maxlength]`: `[CLS] <source> … [SEP] PAD…`.
    pub source: TokenMatrix,
    /// `[items, candidate_maxlength]`: `[CLS] <candidate> reference… [SEP] PAD…`, when references were given.
    pub target: Option<TokenMatrix>,
    /// `[items · n_candidates, candidate_maxlength]`, item-major.
    pub candidates: TokenMatrix,
    /// Candidates per item (the same for every item).
    pub n_candidates: usize,
}

/// SimCLS' collation, exactly as the reference's `DualCollator`: `<source>` and `<candidate>` are added to the
/// vocabulary (normal tokens); `"<source>" + source` is encoded with `max_length = source_maxlength`, the reference
/// and each candidate as `"<candidate>" + text` with `max_length = candidate_maxlength`, all padded to their
/// max length. SimCLS pools the first token, so text containing the prefixes needs no escaping.
#[derive(Clone, Debug)]
pub struct DualCollator {
    encoder: TextEncoder,
    source_maxlength: usize,
    candidate_maxlength: usize,
}

impl DualCollator {
    /// Adds the two prefix tokens to the encoder's tokenizer.
    ///
    /// # Errors
    /// If a max length cannot hold the special tokens plus one token.
    pub fn new(
        mut encoder: TextEncoder,
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
        crate::tokenizer::add_marker_tokens(
            encoder.tokenizer_mut(),
            &[DUAL_SOURCE_PREFIX, DUAL_CANDIDATE_PREFIX],
        );
        Ok(Self {
            encoder,
            source_maxlength,
            candidate_maxlength,
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

    /// The text encoder (with the prefix tokens).
    pub fn encoder(&self) -> &TextEncoder {
        &self.encoder
    }

    /// Vocabulary size including added tokens (the embedding rows the backbone needs).
    pub fn vocab_size(&self) -> usize {
        self.encoder.tokenizer().get_vocab_size(true)
    }

    /// Tokenizes and lays out a batch; `targets` (one reference per item) are needed for the training loss.
    ///
    /// # Errors
    /// A tokenizer failure, items with different candidate counts, or a `targets` length that differs from
    /// the number of items.
    pub fn collate(
        &self,
        items: &[RankText<'_>],
        targets: Option<&[&str]>,
    ) -> Result<DualBatch, LoadError> {
        let n_candidates = items.first().map_or(0, |i| i.candidates.len());
        let pad = self.encoder.special().pad;
        let encode = |prefix: &str, text: &str, max_length: usize, index: usize| {
            self.encoder
                .encode_truncated(&format!("{prefix}{text}"), max_length, index)
        };
        let mut sources = Vec::with_capacity(items.len());
        let mut candidates = Vec::with_capacity(items.len() * n_candidates);
        for (index, item) in items.iter().enumerate() {
            if item.candidates.len() != n_candidates {
                return Err(LoadError::CandidateCount {
                    item: index,
                    found: item.candidates.len(),
                    expected: n_candidates,
                });
            }
            sources.push(encode(
                DUAL_SOURCE_PREFIX,
                item.source,
                self.source_maxlength,
                index,
            )?);
            for candidate in &item.candidates {
                candidates.push(encode(
                    DUAL_CANDIDATE_PREFIX,
                    candidate,
                    self.candidate_maxlength,
                    index,
                )?);
            }
        }
        let target = match targets {
            None => None,
            Some(targets) => {
                if targets.len() != items.len() {
                    return Err(LoadError::TargetCount {
                        found: targets.len(),
                        expected: items.len(),
                    });
                }
                let rows = targets
                    .iter()
                    .enumerate()
                    .map(|(i, t)| encode(DUAL_CANDIDATE_PREFIX, t, self.candidate_maxlength, i))
                    .collect::<Result<Vec<_>, _>>()?;
                Some(TokenMatrix::from_rows(
                    &rows,
                    pad,
                    Some(self.candidate_maxlength),
                ))
            }
        };
        Ok(DualBatch {
            source: TokenMatrix::from_rows(&sources, pad, Some(self.source_maxlength)),
            target,
            candidates: TokenMatrix::from_rows(&candidates, pad, Some(self.candidate_maxlength)),
            n_candidates,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collate::text_encoder::word_level_encoder;

    #[test]
    fn prefixes_are_added_tokens_and_rows_are_padded() {
        let collator = DualCollator::new(word_level_encoder(), 5, 4).unwrap();
        let tok = collator.encoder().tokenizer();
        let (source, candidate) = (
            tok.token_to_id(DUAL_SOURCE_PREFIX).unwrap(),
            tok.token_to_id(DUAL_CANDIDATE_PREFIX).unwrap(),
        );
        assert_eq!((source, candidate), (9, 10));
        assert_eq!(collator.vocab_size(), 11);
        let items = [RankText {
            source: "a b c d",
            candidates: vec!["e", "a b c"],
        }];
        let batch = collator.collate(&items, Some(&["d"])).unwrap();
        assert_eq!(batch.source.row_ids(0), &[2, 9, 4, 5, 3]);
        assert_eq!(batch.target.as_ref().unwrap().row_ids(0), &[2, 10, 7, 3]);
        assert_eq!(batch.candidates.row_ids(0), &[2, 10, 8, 3]);
        assert_eq!(batch.candidates.row_ids(1), &[2, 10, 4, 3]);
        let err = collator.collate(&items, Some(&[])).unwrap_err();
        assert_eq!(err.to_string(), "0 references given for 1 items");
    }
}
