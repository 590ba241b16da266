//! Matrix products for fully connected layers on contiguous row-major `f32` slices: one GEMM
//! split over rayon's pool once it is large enough to pay for the split, with the bias written
//! first and accumulated into (no separate broadcast pass).

use super::gemm::{Mat, matmul};

/// Multiply-adds below which one thread does the whole product.
const PARALLEL_WORK: usize = 1 << 18;

fn threads(m: usize, n: usize, k: usize) -> usize {
    if m * n * k < PARALLEL_WORK {
        1
    } else {
        rayon::current_num_threads()
    }
}

/// `a · b` with `a` `[m, k]` (or its transpose stored `[k, m]`) and `b` `[k, n]` (or its
/// transpose stored `[n, k]`), plus `bias` `[n]` on every row; the result is `[m, n]`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn product(
    a: &[f32],
    a_transposed: bool,
    b: &[f32],
    b_transposed: bool,
    m: usize,
    k: usize,
    n: usize,
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let a = if a_transposed {
        Mat::rows(a, k, m).t()
    } else {
        Mat::rows(a, m, k)
    };
    let b = if b_transposed {
        Mat::rows(b, n, k).t()
    } else {
        Mat::rows(b, k, n)
    };
    let mut out = match bias {
        Some(bias) => bias.repeat(m),
        None => vec![0.0; m * n],
    };
    matmul(&mut out, a, b, bias.is_some(), threads(m, n, k));
    out
}
