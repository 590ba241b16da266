//! A safe front for the `gemm` crate's f32 matrix multiply: the one place Kiln's kernels call
//! into unsafe code, with every matrix's extent checked against its slice first.
#![allow(unsafe_code)]

use gemm::Parallelism;

/// A read-only `rows × cols` matrix view into a slice: element `(r, c)` sits at
/// `r * row_stride + c * col_stride`.
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> Mat<'a> {
    /// A row-major `rows × cols` matrix.
    pub fn rows(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose, without moving data.
    pub fn t(self) -> Self {
        Self {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }
}

/// The largest offset a `rows × cols` view with these strides touches, plus one.
fn extent(rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> usize {
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * row_stride + (cols - 1) * col_stride + 1
    }
}

/// `dst = a · b` (or `dst += a · b` with `accumulate`), `dst` row-major `a.rows × b.cols`.
/// `threads` > 1 splits this one product over rayon's pool.
///
/// # Panics
/// If the shapes disagree or a view reaches past its slice (a bug in the caller).
pub(crate) fn matmul(dst: &mut [f32], a: Mat<'_>, b: Mat<'_>, accumulate: bool, threads: usize) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "gemm: inner dimensions differ");
    assert!(extent(m, n, n, 1) <= dst.len(), "gemm: dst too small");
    assert!(
        extent(m, k, a.row_stride, a.col_stride) <= a.data.len(),
        "gemm: lhs too small"
    );
    assert!(
        extent(k, n, b.row_stride, b.col_stride) <= b.data.len(),
        "gemm: rhs too small"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return;
    }
    let parallelism = if threads > 1 {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    };
    // SAFETY: the asserts above keep every element the three views address inside their
    // slices; `dst` is borrowed mutably, so it cannot alias `a` or `b`; strides are
    // non-negative and fit in `isize` because they index into live slices.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}
