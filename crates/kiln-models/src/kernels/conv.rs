//! 2-D convolution on contiguous NCHW `f32` slices: im2col into a per-thread buffer, one GEMM
//! per image (images spread over rayon's pool), and the two gradients the same way: the input
//! gradient as `Wᵀ · dy` scattered back by col2im, the weight gradient as `dy · colᵀ` summed
//! over images in per-thread partial sums.

use rayon::prelude::*;

use super::gemm::{Mat, matmul};
use super::simd::LaneSum;

/// The sizes of one convolution (groups = 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConvShape {
    pub batch: usize,
    pub in_channels: usize,
    pub height: usize,
    pub width: usize,
    pub out_channels: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// `(before, after)` for height, then width.
    pub padding: [(usize, usize); 2],
    pub dilation: [usize; 2],
    pub out_height: usize,
    pub out_width: usize,
}

impl ConvShape {
    /// The shape of `x` `[batch, in, h, w]` convolved with `weight` `[out, in, kh, kw]`, or
    /// `None` when the output would be empty.
    pub fn new(
        x: [usize; 4],
        weight: [usize; 4],
        stride: [usize; 2],
        padding: [(usize, usize); 2],
        dilation: [usize; 2],
    ) -> Option<Self> {
        let out = |size: usize, i: usize| {
            let span = dilation[i] * (weight[2 + i] - 1) + 1;
            (size + padding[i].0 + padding[i].1)
                .checked_sub(span)
                .map(|v| v / stride[i] + 1)
        };
        Some(Self {
            batch: x[0],
            in_channels: x[1],
            height: x[2],
            width: x[3],
            out_channels: weight[0],
            kernel: [weight[2], weight[3]],
            stride,
            padding,
            dilation,
            out_height: out(x[2], 0)?,
            out_width: out(x[3], 1)?,
        })
    }

    /// Rows of the im2col matrix: `in_channels · kh · kw`.
    pub fn patch(&self) -> usize {
        self.in_channels * self.kernel[0] * self.kernel[1]
    }

    /// Output pixels per image (columns of the im2col matrix).
    pub fn pixels(&self) -> usize {
        self.out_height * self.out_width
    }

    fn image(&self) -> usize {
        self.in_channels * self.height * self.width
    }

    /// A 1×1 kernel at stride 1 without padding: the image is its own im2col matrix.
    fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.stride == [1, 1] && self.padding == [(0, 0), (0, 0)]
    }

    /// At stride 1 with output lines as long as input lines ("same" padding), the valid
    /// positions of one kernel offset, lines `ylo..yhi` and columns `xlo..xhi`, lie in one
    /// contiguous run of the input plane as of the im2col row: `Some((from, to, input_from))`,
    /// the run `from..to` of the row (its padding columns included, which wrap onto the
    /// neighbouring lines) and where it starts in the plane; `None` otherwise. Both ranges must
    /// be non-empty (im2col and col2im skip offsets that only meet padding first).
    fn band(
        &self,
        (ylo, yhi, ystart): (usize, usize, isize),
        (xlo, xhi, xstart): (usize, usize, isize),
    ) -> Option<(usize, usize, usize)> {
        let ow = self.out_width;
        if self.stride != [1, 1] || ow != self.width {
            return None;
        }
        let (from, to) = (ylo * ow + xlo, (yhi - 1) * ow + xhi);
        let input_from = (ystart + ylo as isize) * self.width as isize + xstart + xlo as isize;
        Some((from, to, input_from as usize))
    }

    /// For kernel offset `k` (with dilation) along axis `i`, the output positions whose input
    /// position lies inside the image: `lo..hi`, and the input position of output 0.
    fn valid(&self, i: usize, k: usize, out: usize, size: usize) -> (usize, usize, isize) {
        let start = (k * self.dilation[i]) as isize - self.padding[i].0 as isize;
        let s = self.stride[i] as isize;
        // first o with start + o*s >= 0; last o with start + o*s < size
        let lo = if start >= 0 {
            0
        } else {
            ((-start + s - 1) / s) as usize
        };
        let hi = if (size as isize) <= start {
            0
        } else {
            (((size as isize - start - 1) / s) as usize + 1).min(out)
        };
        (lo.min(hi), hi, start)
    }
}

/// Zeroes the columns outside `xlo..xhi` of every line of `lines` (`width` floats each), column
/// by column: they are the padding, one or two floats per line, and a `fill` per line would be
/// a `memset` call per line (a twentieth of the residual CNN's step, `perf`).
fn zero_margins(lines: &mut [f32], width: usize, xlo: usize, xhi: usize) {
    for x in (0..xlo).chain(xhi..width) {
        for v in lines[x..].iter_mut().step_by(width) {
            *v = 0.0;
        }
    }
}

/// Unfolds one image `[in, h, w]` into `col` `[in·kh·kw, oh·ow]` (zeros where the kernel
/// overlaps the padding).
fn im2col(s: &ConvShape, image: &[f32], col: &mut [f32]) {
    let (kh, kw) = (s.kernel[0], s.kernel[1]);
    let (oh, ow) = (s.out_height, s.out_width);
    let plane = s.height * s.width;
    for c in 0..s.in_channels {
        let src = &image[c * plane..(c + 1) * plane];
        for ki in 0..kh {
            let (ylo, yhi, ystart) = s.valid(0, ki, oh, s.height);
            for kj in 0..kw {
                let (xlo, xhi, xstart) = s.valid(1, kj, ow, s.width);
                let row = (c * kh + ki) * kw + kj;
                let dst = &mut col[row * oh * ow..(row + 1) * oh * ow];
                if ylo >= yhi || xlo >= xhi {
                    // This kernel offset only ever meets padding (a kernel wider than the
                    // image); nothing below may index the input.
                    dst.fill(0.0);
                    continue;
                }
                dst[..ylo * ow].fill(0.0);
                dst[yhi * ow..].fill(0.0);
                if let Some((from, to, src_from)) = s.band((ylo, yhi, ystart), (xlo, xhi, xstart)) {
                    dst[from..to].copy_from_slice(&src[src_from..src_from + (to - from)]);
                    zero_margins(&mut dst[ylo * ow..yhi * ow], ow, xlo, xhi);
                    continue;
                }
                zero_margins(&mut dst[ylo * ow..yhi * ow], ow, xlo, xhi);
                for oy in ylo..yhi {
                    let iy = (ystart + (oy * s.stride[0]) as isize) as usize;
                    let line = &src[iy * s.width..(iy + 1) * s.width];
                    let out = &mut dst[oy * ow..(oy + 1) * ow];
                    let x0 = (xstart + (xlo * s.stride[1]) as isize) as usize;
                    if s.stride[1] == 1 {
                        out[xlo..xhi].copy_from_slice(&line[x0..x0 + (xhi - xlo)]);
                    } else {
                        // Each stride-long chunk of the line starts with one input.
                        let from = line[x0..].chunks(s.stride[1]);
                        for (v, x) in out[xlo..xhi].iter_mut().zip(from) {
                            *v = x[0];
                        }
                    }
                }
            }
        }
    }
}

/// Folds `col` `[in·kh·kw, oh·ow]` back onto one image gradient `[in, h, w]`, adding where
/// kernel positions overlap; `image` must start zeroed. `col` is scratch: the entries of
/// positions that fall in the padding may be zeroed on the way.
fn col2im(s: &ConvShape, col: &mut [f32], image: &mut [f32]) {
    let (kh, kw) = (s.kernel[0], s.kernel[1]);
    let (oh, ow) = (s.out_height, s.out_width);
    let plane = s.height * s.width;
    for c in 0..s.in_channels {
        let dst = &mut image[c * plane..(c + 1) * plane];
        for ki in 0..kh {
            let (ylo, yhi, ystart) = s.valid(0, ki, oh, s.height);
            for kj in 0..kw {
                let (xlo, xhi, xstart) = s.valid(1, kj, ow, s.width);
                if ylo >= yhi || xlo >= xhi {
                    continue; // only padding: nothing to fold back
                }
                let row = (c * kh + ki) * kw + kj;
                let src = &mut col[row * oh * ow..(row + 1) * oh * ow];
                if let Some((from, to, dst_from)) = s.band((ylo, yhi, ystart), (xlo, xhi, xstart)) {
                    // The band's padding columns would wrap onto the neighbouring line.
                    zero_margins(&mut src[ylo * ow..yhi * ow], ow, xlo, xhi);
                    let dst = &mut dst[dst_from..dst_from + (to - from)];
                    for (d, v) in dst.iter_mut().zip(&src[from..to]) {
                        *d += v;
                    }
                    continue;
                }
                for oy in ylo..yhi {
                    let iy = (ystart + (oy * s.stride[0]) as isize) as usize;
                    let line = &mut dst[iy * s.width..(iy + 1) * s.width];
                    let from = &src[oy * ow + xlo..oy * ow + xhi];
                    let x0 = (xstart + (xlo * s.stride[1]) as isize) as usize;
                    if s.stride[1] == 1 {
                        for (d, v) in line[x0..x0 + from.len()].iter_mut().zip(from) {
                            *d += v;
                        }
                    } else {
                        let to = line[x0..].iter_mut().step_by(s.stride[1]);
                        for (d, v) in to.zip(from) {
                            *d += v;
                        }
                    }
                }
            }
        }
    }
}

/// How to spread `images` independent jobs over the pool: whole images per thread when there
/// are enough of them, otherwise one image at a time with the GEMM itself split.
fn gemm_threads(images: usize) -> usize {
    let threads = rayon::current_num_threads();
    if images >= threads { 1 } else { threads }
}

/// `out` `[batch, out, oh, ow]` = `weight` `[out, in·kh·kw]` ⋆ `x` `[batch, in, h, w]` (+ `bias`).
pub(crate) fn forward(s: &ConvShape, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let (k, p, o) = (s.patch(), s.pixels(), s.out_channels);
    let mut out = vec![0.0f32; s.batch * o * p];
    let threads = gemm_threads(s.batch);
    let w = Mat::rows(weight, o, k);
    let one = |col: &mut Vec<f32>, (dst, image): (&mut [f32], &[f32])| {
        if let Some(bias) = bias {
            for (row, b) in dst.chunks_exact_mut(p).zip(bias) {
                row.fill(*b);
            }
        }
        let cols = if s.is_pointwise() {
            Mat::rows(image, k, p)
        } else {
            im2col(s, image, col);
            Mat::rows(col, k, p)
        };
        matmul(dst, w, cols, bias.is_some(), threads);
    };
    let col_len = if s.is_pointwise() { 0 } else { k * p };
    if threads > 1 {
        let mut col = vec![0.0; col_len];
        out.chunks_mut(o * p)
            .zip(x.chunks(s.image()))
            .for_each(|job| one(&mut col, job));
    } else {
        out.par_chunks_mut(o * p)
            .zip(x.par_chunks(s.image()))
            .for_each_init(|| vec![0.0; col_len], one);
    }
    out
}

/// At stride 1 the input gradient is itself a convolution: `dy` padded by `d·(k−1) − p` on
/// each side, convolved with the weight flipped in space and with its input and output
/// channels swapped. Its shape, or `None` at other strides or when a padding exceeds
/// `d·(k−1)` (the result would need cropping).
fn transposed(s: &ConvShape) -> Option<ConvShape> {
    if s.stride != [1, 1] {
        return None;
    }
    let pad = |i: usize| {
        let span = s.dilation[i] * (s.kernel[i] - 1);
        Some((
            span.checked_sub(s.padding[i].0)?,
            span.checked_sub(s.padding[i].1)?,
        ))
    };
    let t = ConvShape::new(
        [s.batch, s.out_channels, s.out_height, s.out_width],
        [s.in_channels, s.out_channels, s.kernel[0], s.kernel[1]],
        [1, 1],
        [pad(0)?, pad(1)?],
        s.dilation,
    )?;
    (t.out_height == s.height && t.out_width == s.width).then_some(t)
}

/// `weight` `[out, in, kh, kw]` as `[in, out, kh, kw]`, each kernel turned by 180°: the weight
/// of the [`transposed`] convolution.
fn flipped(s: &ConvShape, weight: &[f32]) -> Vec<f32> {
    let (kh, kw) = (s.kernel[0], s.kernel[1]);
    let (cin, cout) = (s.in_channels, s.out_channels);
    let mut turned = vec![0.0; weight.len()];
    for (c, to) in turned.chunks_exact_mut(cout * kh * kw).enumerate() {
        for (o, kernel) in to.chunks_exact_mut(kh * kw).enumerate() {
            let from = &weight[(o * cin + c) * kh * kw..][..kh * kw];
            for (t, f) in kernel.iter_mut().zip(from.iter().rev()) {
                *t = *f;
            }
        }
    }
    turned
}

/// The gradient of the input. At stride 1, unless the layer widens, the [`transposed`]
/// convolution of `dy` (the GEMM writes `dx` directly: no col2im, no zeroed buffer);
/// otherwise, for each image, `Wᵀ · dy` folded back by col2im. A widening layer's transposed
/// convolution unfolds `out·kh·kw` rows per pixel against the fold's `in·kh·kw`
/// (`input_grad_speed` below times both ways: the transposed one 3–22% faster on the residual
/// CNN's 16→16, 32→32 and 64→64 layers, 1.6–1.7× and 6× slower on the plain CNN's 32→64 and
/// 1→32).
pub(crate) fn input_grad(s: &ConvShape, weight: &[f32], grad: &[f32]) -> Vec<f32> {
    match transposed(s).filter(|_| s.out_channels <= s.in_channels) {
        Some(t) => forward(&t, grad, &flipped(s, weight), None),
        None => folded_input_grad(s, weight, grad),
    }
}

/// The input gradient as `Wᵀ · dy` folded back onto each image by col2im (any stride).
fn folded_input_grad(s: &ConvShape, weight: &[f32], grad: &[f32]) -> Vec<f32> {
    let (k, p, o) = (s.patch(), s.pixels(), s.out_channels);
    let mut dx = vec![0.0f32; s.batch * s.image()];
    let threads = gemm_threads(s.batch);
    let wt = Mat::rows(weight, o, k).t();
    let one = |col: &mut Vec<f32>, (dst, dy): (&mut [f32], &[f32])| {
        if s.is_pointwise() {
            matmul(dst, wt, Mat::rows(dy, o, p), false, threads);
        } else {
            matmul(col, wt, Mat::rows(dy, o, p), false, threads);
            col2im(s, col, dst);
        }
    };
    let col_len = if s.is_pointwise() { 0 } else { k * p };
    if threads > 1 {
        let mut col = vec![0.0; col_len];
        dx.chunks_mut(s.image())
            .zip(grad.chunks(o * p))
            .for_each(|job| one(&mut col, job));
    } else {
        dx.par_chunks_mut(s.image())
            .zip(grad.par_chunks(o * p))
            .for_each_init(|| vec![0.0; col_len], one);
    }
    dx
}

/// Images per partial sum of the weight gradient is `ceil(batch / PARTIALS)`: a fixed split,
/// so the sum's order, and so its rounding, is the same on every run and any thread count.
const PARTIALS: usize = 8;

/// The gradient of the weight `[out, in·kh·kw]`: `Σ_images dy · colᵀ`, summed over fixed runs
/// of images into partials in parallel, then the partials added in order.
pub(crate) fn weight_grad(s: &ConvShape, x: &[f32], grad: &[f32]) -> Vec<f32> {
    let (k, p, o) = (s.patch(), s.pixels(), s.out_channels);
    let threads = gemm_threads(s.batch);
    let col_len = if s.is_pointwise() { 0 } else { k * p };
    let run = s.batch.div_ceil(PARTIALS).max(1);
    let partial = |(images, dys): (&[f32], &[f32])| {
        let mut acc = vec![0.0f32; o * k];
        let mut col = vec![0.0f32; col_len];
        for (i, (image, dy)) in images.chunks(s.image()).zip(dys.chunks(o * p)).enumerate() {
            let cols = if s.is_pointwise() {
                Mat::rows(image, k, p)
            } else {
                im2col(s, image, &mut col);
                Mat::rows(&col, k, p)
            };
            matmul(&mut acc, Mat::rows(dy, o, p), cols.t(), i > 0, threads);
        }
        acc
    };
    let runs = x.chunks(run * s.image()).zip(grad.chunks(run * o * p));
    let partials: Vec<Vec<f32>> = if threads > 1 {
        runs.map(partial).collect()
    } else {
        runs.collect::<Vec<_>>()
            .into_par_iter()
            .map(partial)
            .collect()
    };
    let mut parts = partials.into_iter();
    let mut total = parts.next().unwrap_or_else(|| vec![0.0; o * k]);
    for part in parts {
        for (t, v) in total.iter_mut().zip(&part) {
            *t += v;
        }
    }
    total
}

/// The gradient of the bias: `grad` `[batch, out, pixels]` summed per output channel, images in
/// order (channels spread over the pool).
pub(crate) fn bias_grad(
    batch: usize,
    out_channels: usize,
    pixels: usize,
    grad: &[f32],
) -> Vec<f32> {
    (0..out_channels)
        .into_par_iter()
        .map(|o| {
            (0..batch)
                .map(|n| {
                    let start = (n * out_channels + o) * pixels;
                    pulp::Arch::new().dispatch(LaneSum {
                        values: &grad[start..start + pixels],
                    })
                })
                .sum()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| ((i * 7919 + seed * 104_729) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    /// Prints the input gradient's time both ways (the transposed convolution and col2im's
    /// fold), alternating, median of 15, on the residual and plain CNNs' stride-1 shapes (not
    /// a test of speed: docs/performance.md quotes it). Run with
    /// `cargo test --release -p kiln-models --features flex --lib input_grad_speed -- --ignored --nocapture`.
    #[test]
    #[ignore = "prints timings"]
    fn input_grad_speed() {
        // (in, out, size, padding) at batch 128, 3×3 kernels, stride 1
        for (cin, cout, size, pad) in [
            (16, 16, 28, 1),
            (32, 32, 14, 1),
            (64, 64, 7, 1),
            (32, 64, 13, 0),
            (1, 32, 28, 0),
        ] {
            let padding = [(pad, pad), (pad, pad)];
            let s = ConvShape::new(
                [128, cin, size, size],
                [cout, cin, 3, 3],
                [1, 1],
                padding,
                [1, 1],
            )
            .expect("a valid shape");
            let weight = pattern(cout * cin * 9, 1);
            let grad = pattern(128 * cout * s.pixels(), 2);
            let t = transposed(&s).expect("stride 1, padding ≤ 2");
            let turned_weight = flipped(&s, &weight);
            let (a, b) = (
                forward(&t, &grad, &turned_weight, None),
                folded_input_grad(&s, &weight, &grad),
            );
            let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
            let worst = a
                .iter()
                .zip(&b)
                .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(
                worst <= 1e-4 * scale,
                "the two ways differ by {worst} (scale {scale})"
            );
            let (mut turned, mut folded) = (Vec::new(), Vec::new());
            for _ in 0..15 {
                let start = std::time::Instant::now();
                std::hint::black_box(forward(&t, &grad, &flipped(&s, &weight), None));
                turned.push(start.elapsed().as_secs_f64() * 1e3);
                let start = std::time::Instant::now();
                std::hint::black_box(folded_input_grad(&s, &weight, &grad));
                folded.push(start.elapsed().as_secs_f64() * 1e3);
            }
            let median = |v: &mut Vec<f64>| {
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            println!(
                "{cin}→{cout} on {size}² p{pad}: transposed {:.2} ms, folded {:.2} ms{}",
                median(&mut turned),
                median(&mut folded),
                if cout > cin {
                    " (widening: folded used)"
                } else {
                    ""
                }
            );
        }
    }
}
