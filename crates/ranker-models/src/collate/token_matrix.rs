use burn::tensor::{backend::Backend, Int, Tensor, TensorData};

/// A right-padded batch of token rows as plain arrays: what collation produces before anything touches a
/// device. `ids` and `mask` are row-major `rows × cols`; `mask` is 1 for a token and 0 for padding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenMatrix {
    /// Token ids, row-major.
    pub ids: Vec<u32>,
    /// Attention mask (1 token, 0 pad), row-major.
    pub mask: Vec<u32>,
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
}

impl TokenMatrix {
    /// Right-pads `rows` (all tokens real) with `pad_id` to `width`, or to the longest row when `width` is `None`.
    ///
    /// # Panics
    /// If a row is longer than `width`.
    pub fn from_rows(rows: &[Vec<u32>], pad_id: u32, width: Option<usize>) -> Self {
        let longest = rows.iter().map(Vec::len).max().unwrap_or(0);
        let cols = width.unwrap_or(longest);
        assert!(
            longest <= cols,
            "row of {longest} tokens does not fit width {cols}"
        );
        let mut ids = Vec::with_capacity(rows.len() * cols);
        let mut mask = Vec::with_capacity(rows.len() * cols);
        for row in rows {
            ids.extend_from_slice(row);
            ids.resize(ids.len() + cols - row.len(), pad_id);
            mask.resize(mask.len() + row.len(), 1);
            mask.resize(mask.len() + cols - row.len(), 0);
        }
        Self {
            ids,
            mask,
            rows: rows.len(),
            cols,
        }
    }

    /// The ids of row `r`.
    pub fn row_ids(&self, r: usize) -> &[u32] {
        &self.ids[r * self.cols..(r + 1) * self.cols]
    }

    /// The mask of row `r`.
    pub fn row_mask(&self, r: usize) -> &[u32] {
        &self.mask[r * self.cols..(r + 1) * self.cols]
    }

    /// The ids of row `r` without its padding (the tokens whose mask is 1).
    pub fn row_tokens(&self, r: usize) -> Vec<u32> {
        self.row_ids(r)
            .iter()
            .zip(self.row_mask(r))
            .filter(|(_, &m)| m != 0)
            .map(|(&id, _)| id)
            .collect()
    }

    /// Drops every column that is padding in all rows (the reference's `mask.any(dim=0)` column filter).
    pub fn trim_pad_columns(&mut self) {
        let keep: Vec<bool> = (0..self.cols)
            .map(|c| (0..self.rows).any(|r| self.mask[r * self.cols + c] != 0))
            .collect();
        let kept = keep.iter().filter(|&&k| k).count();
        if kept == self.cols {
            return;
        }
        let mut ids = Vec::with_capacity(self.rows * kept);
        let mut mask = Vec::with_capacity(self.rows * kept);
        for r in 0..self.rows {
            for (c, _) in keep.iter().enumerate().filter(|(_, &k)| k) {
                ids.push(self.ids[r * self.cols + c]);
                mask.push(self.mask[r * self.cols + c]);
            }
        }
        self.ids = ids;
        self.mask = mask;
        self.cols = kept;
    }

    /// `(input_ids, attention_mask)` as `[rows, cols]` integer tensors.
    pub fn to_tensors<B: Backend>(
        &self,
        device: &B::Device,
    ) -> (Tensor<B, 2, Int>, Tensor<B, 2, Int>) {
        let as_tensor = |values: &[u32]| {
            let data = TensorData::new(
                values.iter().map(|&v| i64::from(v)).collect::<Vec<_>>(),
                [self.rows, self.cols],
            );
            Tensor::<B, 2, Int>::from_data(data, device)
        };
        (as_tensor(&self.ids), as_tensor(&self.mask))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn pads_and_trims_like_the_reference() {
        let mut m = TokenMatrix::from_rows(&[vec![5, 6, 7], vec![5]], 0, Some(6));
        assert_eq!(m.ids, vec![5, 6, 7, 0, 0, 0, 5, 0, 0, 0, 0, 0]);
        assert_eq!(m.mask, vec![1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
        m.trim_pad_columns();
        assert_eq!((m.rows, m.cols), (2, 3));
        assert_eq!(m.row_ids(1), &[5, 0, 0]);
        assert_eq!(m.row_tokens(0), vec![5, 6, 7]);
        let (ids, mask) = m.to_tensors::<Flex>(&Default::default());
        assert_eq!(ids.dims(), [2, 3]);
        assert_eq!(
            mask.into_data().convert::<i64>().into_vec::<i64>().unwrap(),
            vec![1, 1, 1, 1, 0, 0]
        );
    }
}
