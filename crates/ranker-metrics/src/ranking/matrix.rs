//! A dense row-major matrix of `f64`, the shape the ranking metrics take
//! (`[examples, candidates]` rank matrices, `[n, n]` pairwise logit matrices).

use crate::MetricsError;

/// A dense row-major `rows × cols` matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    values: Vec<f64>,
}

impl Matrix {
    /// Wraps row-major `values`; fails unless `values.len() == rows * cols`.
    pub fn new(rows: usize, cols: usize, values: Vec<f64>) -> Result<Self, MetricsError> {
        if rows.checked_mul(cols) != Some(values.len()) {
            return Err(MetricsError::BadShape {
                what: "matrix",
                detail: format!("{} values cannot be {rows}×{cols}", values.len()),
            });
        }
        Ok(Matrix { rows, cols, values })
    }

    /// A `rows × cols` matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Matrix {
            rows,
            cols,
            values: vec![0.0; rows * cols],
        }
    }

    /// Stacks rows; fails when they differ in length (naming the first that does).
    pub fn from_rows<R: AsRef<[f64]>>(rows: &[R]) -> Result<Self, MetricsError> {
        let cols = rows.first().map_or(0, |r| r.as_ref().len());
        let mut values = Vec::with_capacity(rows.len() * cols);
        for (i, row) in rows.iter().enumerate() {
            let row = row.as_ref();
            if row.len() != cols {
                return Err(MetricsError::BadShape {
                    what: "matrix rows",
                    detail: format!("row {i} has {} values, row 0 has {cols}", row.len()),
                });
            }
            values.extend_from_slice(row);
        }
        Ok(Matrix {
            rows: rows.len(),
            cols,
            values,
        })
    }

    /// Stacks rows of ranks (as produced by [`competition_ranks`](super::competition_ranks)).
    pub fn from_rank_rows<R: AsRef<[u32]>>(rows: &[R]) -> Result<Self, MetricsError> {
        let rows: Vec<Vec<f64>> = rows
            .iter()
            .map(|r| r.as_ref().iter().map(|&x| f64::from(x)).collect())
            .collect();
        Matrix::from_rows(&rows)
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The value at row `i`, column `j`. Panics when out of range, like slice indexing.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        assert!(
            i < self.rows && j < self.cols,
            "({i}, {j}) outside {}×{}",
            self.rows,
            self.cols
        );
        self.values[i * self.cols + j]
    }

    /// A mutable reference to the value at row `i`, column `j`. Panics when out of range.
    pub fn get_mut(&mut self, i: usize, j: usize) -> &mut f64 {
        assert!(
            i < self.rows && j < self.cols,
            "({i}, {j}) outside {}×{}",
            self.rows,
            self.cols
        );
        &mut self.values[i * self.cols + j]
    }

    /// Row `i`. Panics when out of range.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.cols..(i + 1) * self.cols]
    }

    /// Column `j`, copied.
    pub fn column(&self, j: usize) -> Vec<f64> {
        (0..self.rows).map(|i| self.get(i, j)).collect()
    }

    /// All values, row-major.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Fails unless the matrix is square; `what` names it in the error.
    pub(crate) fn check_square(&self, what: &'static str) -> Result<usize, MetricsError> {
        if self.rows != self.cols {
            return Err(MetricsError::BadShape {
                what,
                detail: format!("expected a square matrix, got {}×{}", self.rows, self.cols),
            });
        }
        Ok(self.rows)
    }

    /// Fails unless `self` and `other` have the same shape.
    pub(crate) fn check_same_shape(
        &self,
        other: &Matrix,
        what: &'static str,
    ) -> Result<(), MetricsError> {
        if (self.rows, self.cols) != (other.rows, other.cols) {
            return Err(MetricsError::BadShape {
                what,
                detail: format!(
                    "shapes differ: {}×{} vs {}×{}",
                    self.rows, self.cols, other.rows, other.cols
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_from_rows_and_indexes_row_major() {
        let m = Matrix::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0], vec![5.0, 6.0]]).unwrap();
        assert_eq!((m.rows(), m.cols()), (3, 2));
        assert_eq!(m.get(1, 0), 3.0);
        assert_eq!(m.row(2), [5.0, 6.0]);
        assert_eq!(m.column(1), [2.0, 4.0, 6.0]);
    }

    #[test]
    fn names_the_ragged_row() {
        let err = Matrix::from_rows(&[vec![1.0, 2.0], vec![3.0]]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "matrix rows: row 1 has 1 values, row 0 has 2"
        );
        assert!(Matrix::new(2, 2, vec![0.0; 3]).is_err());
    }
}
