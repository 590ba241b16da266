//! Matrix products for fully connected layers on contiguous row-major `f32` slices: one GEMM
//! split over rayon's pool once it is large enough to pay for the split, with the bias written
//! first and accumulated into (no separate broadcast pass). A single row (one request to a
//! served model) takes a vector-matrix path instead, which skips the zero inputs.

use super::gemm::{Mat, matmul};
use super::simd::simd_kernel;

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
    if m == 1 && !b_transposed {
        // `a` is one row either way; `b` is `[k, n]` row-major.
        pulp::Arch::new().dispatch(RowTimesMatrix {
            out: &mut out,
            x: &a.data[..k],
            b: b.data,
            n,
        });
        return out;
    }
    matmul(&mut out, a, b, bias.is_some(), threads(m, n, k));
    out
}

simd_kernel! {
    /// `out += x · b` for one row `x` `[k]` and a row-major `b` `[k, n]`: the rows of `b`
    /// scaled by `x` and summed, skipping the rows whose input is zero (most pixels of a digit,
    /// the inputs a ReLU cut, the zeros of a one-hot encoding), so that only the weights a row
    /// uses are read. This is what one request to a served model runs, where `gemm` would read
    /// all of `b` and wake a second thread for it (docs/serving.md has the effect on
    /// `kiln serve`). The sum of a skipped term is exactly zero unless its weight is infinite
    /// or NaN, which a trained model's weights are not.
    struct RowTimesMatrix<'a> {
        out: &'a mut [f32],
        x: &'a [f32],
        b: &'a [f32],
        n: usize,
    } -> () {
        let mut sum = vec![0.0f32; n];
        for (&xi, row) in x.iter().zip(b.chunks_exact(n)) {
            if xi != 0.0 {
                for (s, &w) in sum.iter_mut().zip(row) {
                    *s = xi.mul_add(w, *s);
                }
            }
        }
        for (o, s) in out.iter_mut().zip(&sum) {
            *o += s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The single-row path agrees with `gemm` to rounding, with and without zero inputs.
    #[test]
    fn one_row_matches_the_matrix_product() {
        let (k, n) = (37, 19);
        let b: Vec<f32> = (0..k * n)
            .map(|i| ((i * 7919) % 97) as f32 / 97.0 - 0.5)
            .collect();
        let bias: Vec<f32> = (0..n).map(|i| i as f32 * 0.1).collect();
        let x: Vec<f32> = (0..k)
            .map(|i| {
                if i % 3 == 0 {
                    0.0
                } else {
                    i as f32 / k as f32 - 0.3
                }
            })
            .collect();
        let one = product(&x, false, &b, false, 1, k, n, Some(&bias));
        let two = product(&x.repeat(2), false, &b, false, 2, k, n, Some(&bias));
        assert_eq!(one.len(), n);
        for (a, g) in one.iter().zip(&two[..n]) {
            assert!((a - g).abs() <= 1e-5 * (1.0 + g.abs()), "{a} vs {g}");
        }
        let plain = product(&x, true, &b, false, 1, k, n, None);
        for ((p, a), bias) in plain.iter().zip(&one).zip(&bias) {
            assert!(
                (p + bias - a).abs() <= 1e-5 * (1.0 + a.abs()),
                "{p} + {bias} vs {a}"
            );
        }
    }
}
