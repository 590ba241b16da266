//! Matrix products for fully connected layers on contiguous row-major `f32` slices.
//!
//! Training ([`product`]): one GEMM split over rayon's pool once it is large enough to pay for
//! the split, with the bias written first and accumulated into (no separate broadcast pass).
//!
//! Inference ([`rows_product`]): every output is summed in one fixed order, input by input from
//! the first, whatever the number of rows around it and the threads, so a row gets the same
//! bits alone (one request to a served model) as inside a batch of `kiln predict`. GEMM cannot
//! promise that: it sums blocks of the inputs separately and then adds the blocks, and its
//! one-row path sums in yet another order. Zero inputs (most pixels of a digit, what a ReLU
//! cut, one-hot zeros) are skipped, so one row reads only the weights it uses.

use std::ops::Range;

use rayon::prelude::*;

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
    if m == 1 && !b_transposed {
        // `a` is one row either way; `b` is `[k, n]` row-major. One row needs no GEMM: the
        // fixed-order path reads only the weights of its non-zero inputs, on one thread.
        return rows_product(&a.data[..k], b.data, 1, k, n, bias);
    }
    let mut out = match bias {
        Some(bias) => bias.repeat(m),
        None => vec![0.0; m * n],
    };
    matmul(&mut out, a, b, bias.is_some(), threads(m, n, k));
    out
}

/// `x · b + bias` with `x` `[m, k]` and `b` `[k, n]` row-major and `bias` `[n]` (if any), each
/// output `s + bias[j]` (or `s`) where `s` is the fused multiply-add chain over the non-zero inputs in order
/// (`s = 0; for i in 0..k where x[r][i] != 0 { s = x[r][i] * b[i][j] + s }`), so a row's
/// outputs do not depend on the rows around it or on the threads. Rows are spread over rayon's
/// pool once the product is large enough.
///
/// # Panics
/// If a slice is shorter than its shape says (a bug in the caller).
pub(crate) fn rows_product(
    x: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    bias: Option<&[f32]>,
) -> Vec<f32> {
    assert!(x.len() >= m * k && b.len() >= k * n && bias.is_none_or(|c| c.len() >= n));
    let mut sums = vec![0.0f32; m * n];
    if n == 0 {
        return sums;
    }
    if k > 0 {
        let (x, b) = (&x[..m * k], &b[..k * n]);
        let run = |sums: &mut [f32], x: &[f32]| {
            let arch = pulp::Arch::new();
            if x.len() == k {
                arch.dispatch(RowTimesMatrix { sums, x, b, n });
            } else {
                arch.dispatch(RowsTimesMatrix { sums, x, b, k, n });
            }
        };
        let threads = threads(m, n, k);
        if threads == 1 || m < 2 * ROWS {
            run(&mut sums, x);
        } else {
            let rows = m.div_ceil(threads).div_ceil(ROWS) * ROWS;
            sums.par_chunks_mut(rows * n)
                .zip(x.par_chunks(rows * k))
                .for_each(|(sums, x)| run(sums, x));
        }
    }
    if let Some(bias) = bias {
        for row in sums.chunks_exact_mut(n) {
            for (s, &c) in row.iter_mut().zip(bias) {
                *s += c;
            }
        }
    }
    sums
}

/// Inputs per pass over a tile's weights (which then stay in L1 for every row block).
const INPUTS: usize = 256;
/// Rows of a register tile of [`RowsTimesMatrix`].
const ROWS: usize = 4;

simd_kernel! {
    /// `sums` continues [`rows_product`]'s chain for one row `x` `[k]` and a row-major
    /// `b` `[k, n]`: the rows of `b` scaled by the non-zero inputs, added in order. Skipped rows
    /// are not read, so a sparse row (a digit's pixels, a one-hot encoding) reads only the
    /// weights it uses: this is what one request to a served model runs, where GEMM would read
    /// all of `b` and wake a second thread (docs/serving.md has the effect on `kiln serve`).
    struct RowTimesMatrix<'a> {
        sums: &'a mut [f32],
        x: &'a [f32],
        b: &'a [f32],
        n: usize,
    } -> () {
        for (&xi, row) in x.iter().zip(b.chunks_exact(n)) {
            if xi != 0.0 {
                for (s, &w) in sums.iter_mut().zip(row) {
                    *s = xi.mul_add(w, *s);
                }
            }
        }
    }
}

/// [`RowTimesMatrix`] for several rows `x` `[m, k]` at once, with the same chain per output:
/// register tiles of [`ROWS`] rows × two SIMD vectors of columns (then 16, 8, 4 and 1 columns
/// for what is left; one row for the rows left), kept while [`INPUTS`] inputs pass, each weight
/// loaded once per tile and used for every row of it. A zero input leaves its row's sums as
/// they are (a lane select, not a branch: which inputs are zero after a ReLU is unpredictable).
/// The partial sums are stored and reloaded between passes, which rounds nothing.
struct RowsTimesMatrix<'a> {
    sums: &'a mut [f32],
    x: &'a [f32],
    b: &'a [f32],
    k: usize,
    n: usize,
}

impl pulp::WithSimd for RowsTimesMatrix<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        let Self { sums, x, b, k, n } = self;
        let part = Part::new(x, b, k, n);
        let width = 2 * S::F32_LANES;
        let (m, tiled) = (part.m, part.m / ROWS * ROWS);
        let mut packed = Vec::with_capacity(INPUTS * width.max(16));
        for start in (0..k).step_by(INPUTS) {
            let inputs = start..(start + INPUTS).min(k);
            let mut c = 0;
            while c + width <= n {
                let weights = part.weights(&mut packed, c, width, inputs.clone());
                for r in (0..tiled).step_by(ROWS) {
                    part.vector_tile::<S, ROWS>(simd, sums, weights, r, c, inputs.clone());
                }
                for r in tiled..m {
                    part.vector_tile::<S, 1>(simd, sums, weights, r, c, inputs.clone());
                }
                c += width;
            }
            while c + 16 <= n {
                part.columns::<16>(sums, &mut packed, c, inputs.clone());
                c += 16;
            }
            if c + 8 <= n {
                part.columns::<8>(sums, &mut packed, c, inputs.clone());
                c += 8;
            }
            if c + 4 <= n {
                part.columns::<4>(sums, &mut packed, c, inputs.clone());
                c += 4;
            }
            while c < n {
                part.columns::<1>(sums, &mut packed, c, inputs.clone());
                c += 1;
            }
        }
    }
}

/// Rows from which [`RowsTimesMatrix`] copies each tile's weights together first.
const PACK_ROWS: usize = 8;

/// A tile's weights: consecutive floats per input, `stride` apart.
#[derive(Clone, Copy)]
struct Weights<'a> {
    values: &'a [f32],
    stride: usize,
}

/// The operands of [`RowsTimesMatrix`], cut into tiles: `x` `[m, k]`, `b` `[k, n]`.
#[derive(Clone, Copy)]
struct Part<'a> {
    x: &'a [f32],
    b: &'a [f32],
    m: usize,
    k: usize,
    n: usize,
}

impl<'a> Part<'a> {
    #[inline(always)]
    fn new(x: &'a [f32], b: &'a [f32], k: usize, n: usize) -> Self {
        let m = x.len() / k;
        Self { x, b, m, k, n }
    }

    /// The weights of columns `c..c + width` over `inputs`. With enough rows to pay for it they
    /// are first copied next to each other (`[inputs, width]`): read in place, rows `n` floats
    /// apart fall into a few L1 cache sets and evict each other.
    #[inline(always)]
    fn weights<'p>(
        self,
        packed: &'p mut Vec<f32>,
        c: usize,
        width: usize,
        inputs: Range<usize>,
    ) -> Weights<'p>
    where
        Self: 'p,
    {
        if self.m >= PACK_ROWS {
            packed.clear();
            for i in inputs {
                packed.extend_from_slice(&self.b[i * self.n + c..][..width]);
            }
            Weights {
                values: packed,
                stride: width,
            }
        } else {
            Weights {
                values: &self.b[inputs.start * self.n + c..],
                stride: self.n,
            }
        }
    }

    /// The `R` rows from `r` × two vectors of columns from `c`, over `inputs`, in registers.
    #[inline(always)]
    fn vector_tile<S: pulp::Simd, const R: usize>(
        self,
        simd: S,
        sums: &mut [f32],
        weights: Weights<'_>,
        r: usize,
        c: usize,
        inputs: Range<usize>,
    ) {
        let Self { x, k, n, .. } = self;
        let width = 2 * S::F32_LANES;
        let len = inputs.len();
        let xs: [&[f32]; R] = std::array::from_fn(|t| &x[(r + t) * k + inputs.start..][..len]);
        let mut tile: [[S::f32s; 2]; R] =
            std::array::from_fn(|t| two_vectors::<S>(&sums[(r + t) * n + c..][..width]));
        let zero = simd.splat_f32s(0.0);
        for j in 0..len {
            let w = two_vectors::<S>(&weights.values[j * weights.stride..][..width]);
            for (row, xs) in tile.iter_mut().zip(&xs) {
                let xi = simd.splat_f32s(xs[j]);
                let skip = simd.equal_f32s(xi, zero);
                for (s, &w) in row.iter_mut().zip(&w) {
                    *s = simd.select_f32s(skip, *s, simd.mul_add_f32s(xi, w, *s));
                }
            }
        }
        for (t, row) in tile.iter().enumerate() {
            let (out, _) = S::as_mut_simd_f32s(&mut sums[(r + t) * n + c..][..width]);
            out[..2].copy_from_slice(row);
        }
    }

    /// Columns `c..c + W` of every row over `inputs`, in tiles of plain arrays (the columns
    /// right of the vector tiles).
    #[inline(always)]
    fn columns<const W: usize>(
        self,
        sums: &mut [f32],
        packed: &mut Vec<f32>,
        c: usize,
        inputs: Range<usize>,
    ) {
        let weights = self.weights(packed, c, W, inputs.clone());
        let tiled = self.m / ROWS * ROWS;
        for r in (0..tiled).step_by(ROWS) {
            self.tile::<ROWS, W>(sums, weights, r, c, inputs.clone());
        }
        for r in tiled..self.m {
            self.tile::<1, W>(sums, weights, r, c, inputs.clone());
        }
    }

    /// The `R × W` tile at row `r`, column `c`, over `inputs`, in registers.
    #[inline(always)]
    fn tile<const R: usize, const W: usize>(
        self,
        sums: &mut [f32],
        weights: Weights<'_>,
        r: usize,
        c: usize,
        inputs: Range<usize>,
    ) {
        let Self { x, k, n, .. } = self;
        let len = inputs.len();
        let xs: [&[f32]; R] = std::array::from_fn(|t| &x[(r + t) * k + inputs.start..][..len]);
        let mut tile = [[0.0f32; W]; R];
        for (t, row) in tile.iter_mut().enumerate() {
            row.copy_from_slice(&sums[(r + t) * n + c..][..W]);
        }
        for j in 0..len {
            let w: &[f32; W] = weights.values[j * weights.stride..][..W]
                .try_into()
                .expect("W weights");
            for (row, xs) in tile.iter_mut().zip(&xs) {
                let xi = xs[j];
                if xi != 0.0 {
                    for (s, &w) in row.iter_mut().zip(w) {
                        *s = xi.mul_add(w, *s);
                    }
                }
            }
        }
        for (t, row) in tile.iter().enumerate() {
            sums[(r + t) * n + c..][..W].copy_from_slice(row);
        }
    }
}

/// The two SIMD vectors at the start of `values` (which holds at least two vectors' worth).
#[inline(always)]
fn two_vectors<S: pulp::Simd>(values: &[f32]) -> [S::f32s; 2] {
    let (vectors, _) = S::as_simd_f32s(&values[..2 * S::F32_LANES]);
    [vectors[0], vectors[1]]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| {
                let v = ((i * 7919 + seed * 104_729) % 211) as f32 / 211.0 - 0.5;
                // About a third zeros, as in images and ReLU outputs.
                if (i + seed).is_multiple_of(3) { 0.0 } else { v }
            })
            .collect()
    }

    /// A row's outputs are the same bits alone, in any batch, tiled or not, on one thread or
    /// several (the product is big enough to be split), and agree with GEMM to rounding.
    #[test]
    fn rows_do_not_depend_on_their_batch() {
        // k > INPUTS (two passes); n = 47 (vector tiles, then 16-, 8-, 4- and 1-column
        // tiles, depending on the SIMD width); m = 37 (leftover rows).
        let (m, k, n) = (37, 300, 2 * 16 + 8 + 4 + 3);
        assert!(m * k * n >= PARALLEL_WORK);
        let x = pattern(m * k, 1);
        let b = pattern(k * n, 2);
        let bias = pattern(n, 3);
        let all = rows_product(&x, &b, m, k, n, Some(&bias));
        for r in 0..m {
            let alone = rows_product(&x[r * k..][..k], &b, 1, k, n, Some(&bias));
            assert_eq!(alone, all[r * n..][..n], "row {r} alone");
        }
        for (start, rows) in [(0, 4), (5, 3), (8, 9), (30, 7)] {
            let some = rows_product(&x[start * k..][..rows * k], &b, rows, k, n, Some(&bias));
            assert_eq!(some, all[start * n..][..rows * n], "rows {start}..+{rows}");
        }
        let mut gemm = bias.repeat(m);
        matmul(&mut gemm, Mat::rows(&x, m, k), Mat::rows(&b, k, n), true, 1);
        for (a, g) in all.iter().zip(&gemm) {
            assert!((a - g).abs() <= 1e-5 * (1.0 + g.abs()), "{a} vs {g}");
        }
    }

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

    /// Prints the fixed-order product's time beside `gemm`'s on the MNIST MLP's shapes (not a
    /// test of speed: docs/serving.md quotes it). Run with
    /// `cargo test --release -p kiln-models --features flex --lib rows_product_speed -- --ignored --nocapture`.
    #[test]
    #[ignore = "prints timings"]
    fn rows_product_speed() {
        for (m, k, n) in [
            (1, 784, 512),
            (256, 784, 512),
            (1024, 784, 512),
            (1024, 512, 10),
        ] {
            let x = pattern(m * k, 4);
            let b = pattern(k * n, 5);
            let bias = pattern(n, 6);
            let reps = (2_000_000_000 / (m * k * n)).max(20);
            let start = std::time::Instant::now();
            for _ in 0..reps {
                std::hint::black_box(rows_product(&x, &b, m, k, n, Some(&bias)));
            }
            let rows = start.elapsed().as_secs_f64() / reps as f64;
            let start = std::time::Instant::now();
            for _ in 0..reps {
                let mut out = bias.repeat(m);
                matmul(
                    &mut out,
                    Mat::rows(&x, m, k),
                    Mat::rows(&b, k, n),
                    true,
                    threads(m, n, k),
                );
                std::hint::black_box(out);
            }
            let gemm = start.elapsed().as_secs_f64() / reps as f64;
            println!(
                "{m}x{k} by {k}x{n}: fixed order {:.1} us, gemm {:.1} us",
                rows * 1e6,
                gemm * 1e6
            );
        }
    }
}
