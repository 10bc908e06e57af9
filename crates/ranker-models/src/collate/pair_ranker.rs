//! PairRanker collation: HEAD `CrossCompareCollator` (per-batch length budget), the paper-era collator (fixed
//! budgets), and the pair assembly of `CrossCompareReranker._forward` / `cat_ids`.
// https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/collator.py#L164
// https://github.com/yuchenlin/LLM-Blender/blob/9ee767c/src/pair_ranker/collator.py#L176
// https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/pair_ranker/ranker.py#L520

use std::path::Path;

use super::markers::{
    escape_pair_markers, PairMarkerIds, CANDIDATE_MARKER, PAIR_MARKERS, SOURCE_MARKER,
};
use super::text_encoder::{TextEncoder, TokenizerSettings};
use super::token_matrix::TokenMatrix;
use crate::error::LoadError;

/// How the source and candidate token budgets relate.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum LengthBudget {
    /// The reference's current collator: each candidate may use half of the source budget the batch's longest
    /// source left unused (`candidate_maxlength + (source_maxlength − longest source) / 2`), and all-pad columns
    /// are dropped.
    #[default]
    Shared,
    /// The paper-era collator (LLM-Blender 9ee767c, what the paper's PairRanker and the released `pair-ranker`
    /// were trained with): sources are cut at `source_maxlength`, candidates at `candidate_maxlength`, and both
    /// are padded to exactly those widths.
    Fixed,
}

impl LengthBudget {
    /// The config spelling: `shared` or `fixed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shared => "shared",
            Self::Fixed => "fixed",
        }
    }
}

impl std::fmt::Display for LengthBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One item to rank: its source text (instruction + input, no separator) and its candidate texts.
#[derive(Clone, Debug)]
pub struct RankText<'a> {
    /// The source.
    pub source: &'a str,
    /// The candidates.
    pub candidates: Vec<&'a str>,
}

/// One pair to compare: candidate `left` of item `item` in slot 1, candidate `right` in slot 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CandidatePair {
    /// Index of the item in the collated batch.
    pub item: usize,
    /// Candidate in the `<|candidate1|>` slot.
    pub left: usize,
    /// Candidate in the `<|candidate2|>` slot.
    pub right: usize,
}

/// Items collated for PairRanker: sources and candidates encoded separately with the batch's length budget,
/// ready to be assembled into pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollatedPairItems {
    /// `[items, source_len]`: `[CLS] <|source|> … [SEP] PAD…`, all-pad columns trimmed.
    pub source: TokenMatrix,
    /// `[Σ candidates, candidate_len]`: `[CLS] <|candidate|> … [SEP] PAD…`, all-pad columns trimmed.
    pub candidates: TokenMatrix,
    /// Item `i`'s candidates are rows `candidate_offsets[i]..candidate_offsets[i + 1]` of `candidates`.
    pub candidate_offsets: Vec<usize>,
    /// The candidate `max_length` this batch used: `candidate_maxlength + (source_maxlength − source_len) / 2`
    /// with [`LengthBudget::Shared`], `candidate_maxlength` with [`LengthBudget::Fixed`].
    pub candidate_max_length: usize,
}

impl CollatedPairItems {
    /// Number of items.
    pub fn n_items(&self) -> usize {
        self.candidate_offsets.len() - 1
    }

    /// Number of candidates of item `item`.
    pub fn n_candidates(&self, item: usize) -> usize {
        self.candidate_offsets[item + 1] - self.candidate_offsets[item]
    }
}

/// One assembled pair row (no padding) with the positions of its three markers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairRow {
    /// `[CLS] <|source|> x… [SEP] [CLS] <|candidate1|> y… [SEP] [CLS] <|candidate2|> z… [SEP]`.
    pub ids: Vec<u32>,
    /// Position of `<|source|>`.
    pub source_pos: usize,
    /// Position of `<|candidate1|>`.
    pub candidate1_pos: usize,
    /// Position of `<|candidate2|>`.
    pub candidate2_pos: usize,
}

/// A batch of pair rows, right-padded to the longest, with the marker positions PairRanker pools at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairBatch {
    /// `[pairs, len]` ids and mask.
    pub tokens: TokenMatrix,
    /// Per row: position of `<|source|>`.
    pub source_pos: Vec<usize>,
    /// Per row: position of `<|candidate1|>`.
    pub candidate1_pos: Vec<usize>,
    /// Per row: position of `<|candidate2|>`.
    pub candidate2_pos: Vec<usize>,
}

impl PairBatch {
    /// Pads `rows` (possibly from different collated batches or items) with `pad_id` to the longest row; the
    /// result equals the reference's pad-to-`Ls + 2·Lc` followed by dropping all-pad columns.
    pub fn from_rows(rows: Vec<PairRow>, pad_id: u32) -> Self {
        let ids: Vec<Vec<u32>> = rows.iter().map(|r| r.ids.clone()).collect();
        Self {
            tokens: TokenMatrix::from_rows(&ids, pad_id, None),
            source_pos: rows.iter().map(|r| r.source_pos).collect(),
            candidate1_pos: rows.iter().map(|r| r.candidate1_pos).collect(),
            candidate2_pos: rows.iter().map(|r| r.candidate2_pos).collect(),
        }
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.tokens.rows
    }

    /// Whether the batch has no pairs.
    pub fn is_empty(&self) -> bool {
        self.tokens.rows == 0
    }
}

/// A tokenizer with the four PairRanker markers added, shared by [`PairCollator`] and
/// [`PairRmLayout`](super::PairRmLayout).
#[derive(Clone, Debug)]
pub struct PairTokenizer {
    encoder: TextEncoder,
    markers: PairMarkerIds,
}

impl PairTokenizer {
    /// Adds `<|source|>`, `<|candidate1|>`, `<|candidate2|>`, `<|candidate|>` as normal (non-special) tokens, in
    /// that order, like `CrossCompareCollator.__init__` (existing ones keep their ids).
    pub fn new(mut encoder: TextEncoder) -> Self {
        let ids = crate::tokenizer::add_marker_tokens(encoder.tokenizer_mut(), &PAIR_MARKERS);
        let markers = PairMarkerIds::from_ids([ids[0], ids[1], ids[2], ids[3]]);
        Self { encoder, markers }
    }

    /// Loads `tokenizer.json` (+ `tokenizer_config.json`, `special_tokens_map.json`) from `dir` and adds the markers.
    pub fn from_dir(dir: &Path) -> Result<Self, LoadError> {
        let tokenizer = crate::tokenizer::load_tokenizer(dir)?;
        let settings = TokenizerSettings::from_dir(dir)?;
        Ok(Self::new(TextEncoder::new(tokenizer, settings, dir)?))
    }

    /// The text encoder (tokenizer with markers).
    pub fn encoder(&self) -> &TextEncoder {
        &self.encoder
    }

    /// The marker ids.
    pub fn markers(&self) -> PairMarkerIds {
        self.markers
    }

    /// Vocabulary size including added tokens: the embedding rows the backbone needs
    /// (`resize_token_embeddings(len(tokenizer))`).
    pub fn vocab_size(&self) -> usize {
        self.encoder.tokenizer().get_vocab_size(true)
    }

    /// Checks that `ids` holds `expected` exactly once and no other marker; returns its position.
    pub(crate) fn single_marker(
        &self,
        ids: &[u32],
        expected: u32,
        item: usize,
        segment: &str,
    ) -> Result<usize, LoadError> {
        let mut position = None;
        for marker in self.markers.all() {
            let found: Vec<usize> = ids
                .iter()
                .enumerate()
                .filter(|(_, &id)| id == marker)
                .map(|(i, _)| i)
                .collect();
            let wanted = usize::from(marker == expected);
            if found.len() != wanted {
                return Err(LoadError::MarkerCount {
                    item,
                    segment: segment.to_string(),
                    marker: self.markers.name_of(marker).unwrap_or("?"),
                    found: found.len(),
                    expected: wanted,
                });
            }
            if marker == expected {
                position = found.first().copied();
            }
        }
        Ok(position.expect("expected marker counted once"))
    }
}

/// Collates items for PairRanker exactly as the reference's HEAD `CrossCompareCollator` ([`LengthBudget::Shared`],
/// the default) or its paper-era version ([`LengthBudget::Fixed`]), then assembles pairs as
/// `CrossCompareReranker._forward` does.
///
/// Text handling, per item:
/// 1. user text is [escaped](escape_pair_markers) so it cannot contain a marker (our addition);
/// 2. `"<|source|>" + source` and `"<|candidate|>" + candidate`, then every literal separator string (`[SEP]`,
///    `</s>`) is replaced by `' '`;
/// 3. sources are encoded with `max_length = source_maxlength`; `remaining = source_maxlength − longest source`
///    of the batch; candidates with `max_length = candidate_maxlength + remaining / 2` (the per-batch budget
///    transfer); each matrix keeps only columns that are not padding in every row. With
///    [`LengthBudget::Fixed`] candidates get exactly `candidate_maxlength` and both matrices are padded to their
///    full budgets, as the paper-era collator's tensors.
///
/// Assembled pairs are identical in both modes up to trailing padding: the reference pads a pair to
/// `source_maxlength + 2 · candidate_maxlength`, [`PairBatch`] to the batch's longest pair (masked columns).
///
/// The marker is the first content token, so right truncation never drops it; every row is checked to hold its
/// marker exactly once and no other.
#[derive(Clone, Debug)]
pub struct PairCollator {
    tokenizer: PairTokenizer,
    source_maxlength: usize,
    candidate_maxlength: usize,
    length_budget: LengthBudget,
}

impl PairCollator {
    /// # Errors
    /// If a max length cannot hold the special tokens plus the marker.
    pub fn new(
        tokenizer: PairTokenizer,
        source_maxlength: usize,
        candidate_maxlength: usize,
    ) -> Result<Self, LoadError> {
        let min = tokenizer.encoder().min_max_length();
        for (key, value) in [
            ("source_maxlength", source_maxlength),
            ("candidate_maxlength", candidate_maxlength),
        ] {
            if value < min {
                return Err(LoadError::LengthBudget { key, value, min });
            }
        }
        Ok(Self {
            tokenizer,
            source_maxlength,
            candidate_maxlength,
            length_budget: LengthBudget::Shared,
        })
    }

    /// The same collator with another [`LengthBudget`].
    pub fn with_length_budget(mut self, length_budget: LengthBudget) -> Self {
        self.length_budget = length_budget;
        self
    }

    /// The length budget mode.
    pub fn length_budget(&self) -> LengthBudget {
        self.length_budget
    }

    /// The tokenizer with markers.
    pub fn tokenizer(&self) -> &PairTokenizer {
        &self.tokenizer
    }

    /// `source_maxlength`.
    pub fn source_maxlength(&self) -> usize {
        self.source_maxlength
    }

    /// `candidate_maxlength`.
    pub fn candidate_maxlength(&self) -> usize {
        self.candidate_maxlength
    }

    fn prepare(&self, marker: &str, text: &str) -> String {
        let sep = &self.tokenizer.encoder().special().sep_text;
        format!("{marker}{}", escape_pair_markers(text)).replace(sep.as_str(), " ")
    }

    /// Tokenizes and lays out a batch of items (the collator call). Items may have different candidate counts.
    ///
    /// # Errors
    /// A tokenizer failure or a row whose marker count is wrong (names the item and segment).
    pub fn collate(&self, items: &[RankText<'_>]) -> Result<CollatedPairItems, LoadError> {
        let encoder = self.tokenizer.encoder();
        let markers = self.tokenizer.markers();
        let mut source_rows = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let text = self.prepare(SOURCE_MARKER, item.source);
            let ids = encoder.encode_truncated(&text, self.source_maxlength, index)?;
            self.tokenizer
                .single_marker(&ids, markers.source, index, "source")?;
            source_rows.push(ids);
        }
        let (source_width, candidate_width) = match self.length_budget {
            LengthBudget::Shared => (None, None),
            LengthBudget::Fixed => (Some(self.source_maxlength), Some(self.candidate_maxlength)),
        };
        let source = TokenMatrix::from_rows(&source_rows, encoder.special().pad, source_width);
        let candidate_max_length = match self.length_budget {
            LengthBudget::Shared => {
                self.candidate_maxlength + (self.source_maxlength - source.cols) / 2
            }
            LengthBudget::Fixed => self.candidate_maxlength,
        };

        let mut candidate_rows = Vec::new();
        let mut candidate_offsets = vec![0];
        for (index, item) in items.iter().enumerate() {
            for (c, candidate) in item.candidates.iter().enumerate() {
                let text = self.prepare(CANDIDATE_MARKER, candidate);
                let ids = encoder.encode_truncated(&text, candidate_max_length, index)?;
                self.tokenizer.single_marker(
                    &ids,
                    markers.candidate,
                    index,
                    &format!("candidate {c}"),
                )?;
                candidate_rows.push(ids);
            }
            candidate_offsets.push(candidate_rows.len());
        }
        Ok(CollatedPairItems {
            source,
            candidates: TokenMatrix::from_rows(
                &candidate_rows,
                encoder.special().pad,
                candidate_width,
            ),
            candidate_offsets,
            candidate_max_length,
        })
    }

    /// Assembles one pair row like `cat_ids`: each segment up to and including its last separator, with
    /// `<|candidate|>` replaced by `<|candidate1|>` / `<|candidate2|>` in the two candidate segments.
    ///
    /// # Errors
    /// An index out of range, or a segment without a separator.
    pub fn pair_row(
        &self,
        items: &CollatedPairItems,
        pair: CandidatePair,
    ) -> Result<PairRow, LoadError> {
        let out_of_range = |what: String| LoadError::PairIndex {
            item: pair.item,
            reason: what,
        };
        if pair.item >= items.n_items() {
            return Err(out_of_range(format!(
                "only {} items in the batch",
                items.n_items()
            )));
        }
        let n = items.n_candidates(pair.item);
        for c in [pair.left, pair.right] {
            if c >= n {
                return Err(out_of_range(format!("candidate {c} of {n}")));
            }
        }
        let markers = self.tokenizer.markers();
        let sep = self.tokenizer.encoder().special().sep;
        let segment = |row: &[u32], what: &str| -> Result<Vec<u32>, LoadError> {
            let last_sep = row.iter().rposition(|&id| id == sep).ok_or_else(|| {
                LoadError::MissingSeparator {
                    item: pair.item,
                    segment: what.to_string(),
                }
            })?;
            Ok(row[..=last_sep].to_vec())
        };
        let relabel = |mut ids: Vec<u32>, slot_marker: u32| {
            for id in &mut ids {
                if *id == markers.candidate {
                    *id = slot_marker;
                }
            }
            ids
        };
        let offset = items.candidate_offsets[pair.item];
        let source = segment(items.source.row_ids(pair.item), "source")?;
        let left = relabel(
            segment(items.candidates.row_ids(offset + pair.left), "candidate 1")?,
            markers.candidate1,
        );
        let right = relabel(
            segment(items.candidates.row_ids(offset + pair.right), "candidate 2")?,
            markers.candidate2,
        );
        let mut ids = source;
        let left_start = ids.len();
        ids.extend(left);
        let right_start = ids.len();
        ids.extend(right);
        let source_pos = self.tokenizer.single_marker(
            &ids[..left_start],
            markers.source,
            pair.item,
            "source",
        )?;
        let candidate1_pos = left_start
            + self.tokenizer.single_marker(
                &ids[left_start..right_start],
                markers.candidate1,
                pair.item,
                "candidate 1",
            )?;
        let candidate2_pos = right_start
            + self.tokenizer.single_marker(
                &ids[right_start..],
                markers.candidate2,
                pair.item,
                "candidate 2",
            )?;
        Ok(PairRow {
            ids,
            source_pos,
            candidate1_pos,
            candidate2_pos,
        })
    }

    /// [`PairCollator::pair_row`] for each pair, padded into one batch.
    pub fn pairs(
        &self,
        items: &CollatedPairItems,
        pairs: &[CandidatePair],
    ) -> Result<PairBatch, LoadError> {
        let rows = pairs
            .iter()
            .map(|&p| self.pair_row(items, p))
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

    // Word-level ids: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 a=4 b=5 c=6 d=7 e=8; markers get 9..=12.
    const SRC: u32 = 9;
    const C1: u32 = 10;
    const C2: u32 = 11;
    const CAND: u32 = 12;

    fn collator(smax: usize, cmax: usize) -> PairCollator {
        let tokenizer = PairTokenizer::new(word_level_encoder());
        assert_eq!(tokenizer.markers().all(), [SRC, C1, C2, CAND]);
        PairCollator::new(tokenizer, smax, cmax).unwrap()
    }

    #[test]
    fn the_unused_source_budget_goes_to_the_candidates() {
        let c = collator(8, 4);
        let items = [
            RankText {
                source: "a",
                candidates: vec!["a b c d e", "b"],
            },
            RankText {
                source: "a b c",
                candidates: vec!["c d"],
            },
        ];
        let collated = c.collate(&items).unwrap();
        // Longest source: [CLS] <|source|> a b c [SEP] = 6 columns; remaining 2 → candidates get 4 + 1.
        assert_eq!(collated.source.cols, 6);
        assert_eq!(collated.source.row_ids(0), &[2, SRC, 4, 3, 0, 0]);
        assert_eq!(collated.candidate_max_length, 5);
        assert_eq!(collated.candidates.row_ids(0), &[2, CAND, 4, 5, 3]);
        assert_eq!(collated.candidates.row_ids(1), &[2, CAND, 5, 3, 0]);
        assert_eq!(collated.candidate_offsets, vec![0, 2, 3]);
    }

    #[test]
    fn a_fixed_budget_pads_to_the_budgets_and_transfers_nothing() {
        let c = collator(8, 4).with_length_budget(LengthBudget::Fixed);
        let items = [RankText {
            source: "a",
            candidates: vec!["a b c d e", "b"],
        }];
        let collated = c.collate(&items).unwrap();
        assert_eq!(collated.candidate_max_length, 4);
        assert_eq!(collated.source.row_ids(0), &[2, SRC, 4, 3, 0, 0, 0, 0]);
        assert_eq!(collated.candidates.row_ids(0), &[2, CAND, 4, 3]);
        assert_eq!(collated.candidates.row_ids(1), &[2, CAND, 5, 3]);
        let shared = collator(8, 4).collate(&items).unwrap();
        assert_eq!(shared.candidate_max_length, 6);
        // The assembled pair is the same tokens in both modes when nothing is cut.
        let pair = CandidatePair {
            item: 0,
            left: 1,
            right: 1,
        };
        assert_eq!(
            c.pair_row(&collated, pair).unwrap(),
            collator(8, 4).pair_row(&shared, pair).unwrap()
        );
    }

    #[test]
    fn pairs_concatenate_segments_and_relabel_the_candidate_markers() {
        let c = collator(8, 8);
        let items = [RankText {
            source: "a b",
            candidates: vec!["c", "d e"],
        }];
        let collated = c.collate(&items).unwrap();
        let pair = CandidatePair {
            item: 0,
            left: 1,
            right: 0,
        };
        let row = c.pair_row(&collated, pair).unwrap();
        assert_eq!(row.ids, vec![2, SRC, 4, 5, 3, 2, C1, 7, 8, 3, 2, C2, 6, 3]);
        assert_eq!(
            (row.source_pos, row.candidate1_pos, row.candidate2_pos),
            (1, 6, 11)
        );
        let batch = c
            .pairs(
                &collated,
                &[
                    pair,
                    CandidatePair {
                        item: 0,
                        left: 0,
                        right: 0,
                    },
                ],
            )
            .unwrap();
        assert_eq!(batch.tokens.cols, 14);
        // The second pair is one token shorter: 5 + 4 + 4.
        assert_eq!(
            batch.tokens.row_mask(1),
            &[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]
        );
    }

    #[test]
    fn separator_and_marker_text_in_user_input_is_neutralised() {
        let c = collator(12, 12);
        let items = [RankText {
            source: "a [SEP] b <|source|>",
            candidates: vec!["<|candidate2|> c"],
        }];
        let collated = c.collate(&items).unwrap();
        // "[SEP]" becomes a space; "<|source|>" becomes "< |source|>", an unknown word.
        assert_eq!(collated.source.row_ids(0), &[2, SRC, 4, 5, 1, 1, 3]);
        assert_eq!(collated.candidates.row_ids(0), &[2, CAND, 1, 1, 6, 3]);
    }

    #[test]
    fn a_row_with_a_stray_marker_is_a_named_error() {
        let tokenizer = PairTokenizer::new(word_level_encoder());
        let err = tokenizer
            .single_marker(&[2, SRC, 4, SRC, 3], SRC, 7, "source")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "item 7, source: marker `<|source|>` occurs 2 time(s) after tokenization, expected 1"
        );
        let err = tokenizer
            .single_marker(&[2, CAND, C1, 3], CAND, 0, "candidate 3")
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("`<|candidate1|>` occurs 1 time(s)"),
            "{err}"
        );
    }

    #[test]
    fn lengths_that_cannot_keep_the_marker_are_rejected() {
        let err = PairCollator::new(PairTokenizer::new(word_level_encoder()), 2, 8).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("`source_maxlength` = 2 is too small"),
            "{err}"
        );
    }
}
