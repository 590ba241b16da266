//! 2-D convolution on contiguous NCHW `f32` slices: the im2col matrices of a group of images
//! side by side in a per-thread buffer, one GEMM per group (groups spread over rayon's pool),
//! and the two gradients the same way: the input gradient as `Wᵀ · dy` scattered back by
//! col2im, the weight gradient as `dy · colᵀ` summed over groups in fixed partial sums.

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

/// Output pixels one GEMM aims for: the images of a group are unfolded side by side until their
/// pixels reach about this many. gemm packs the weights once per product, and one image's
/// product (conv2's is 64×121×288) is too small for its blocking.
const GROUP_COLUMNS: usize = 2048;

impl ConvShape {
    /// Images per GEMM. It depends on the shape alone, never on the thread count, so the
    /// products, and their rounding, are the same however many threads run them.
    fn group(&self) -> usize {
        // An experiment's knob (this commit is reverted by the next one).
        let cols = std::env::var("KILN_CONV_GROUP_COLUMNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(GROUP_COLUMNS);
        (cols / self.pixels().max(1)).clamp(1, self.batch.max(1))
    }
}

/// Unfolds one image `[in, h, w]` into the first `oh·ow` columns of `col`, whose rows of the
/// im2col matrix `[in·kh·kw, ·]` are `ld` floats apart (zeros where the kernel overlaps the
/// padding). A group's images pass `col` shifted by their column offset.
fn im2col(s: &ConvShape, image: &[f32], col: &mut [f32], ld: usize) {
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
                let dst = &mut col[row * ld..row * ld + oh * ow];
                dst[..ylo * ow].fill(0.0);
                dst[yhi * ow..].fill(0.0);
                for oy in ylo..yhi {
                    let iy = (ystart + (oy * s.stride[0]) as isize) as usize;
                    let line = &src[iy * s.width..(iy + 1) * s.width];
                    let out = &mut dst[oy * ow..(oy + 1) * ow];
                    out[..xlo].fill(0.0);
                    out[xhi..].fill(0.0);
                    let x0 = (xstart + (xlo * s.stride[1]) as isize) as usize;
                    if s.stride[1] == 1 {
                        out[xlo..xhi].copy_from_slice(&line[x0..x0 + (xhi - xlo)]);
                    } else {
                        for (o, v) in out[xlo..xhi].iter_mut().enumerate() {
                            *v = line[x0 + o * s.stride[1]];
                        }
                    }
                }
            }
        }
    }
}

/// Folds the first `oh·ow` columns of `col` (rows `ld` floats apart) back onto one image
/// gradient `[in, h, w]`, adding where kernel positions overlap; `image` must start zeroed.
fn col2im(s: &ConvShape, col: &[f32], ld: usize, image: &mut [f32]) {
    let (kh, kw) = (s.kernel[0], s.kernel[1]);
    let (oh, ow) = (s.out_height, s.out_width);
    let plane = s.height * s.width;
    for c in 0..s.in_channels {
        let dst = &mut image[c * plane..(c + 1) * plane];
        for ki in 0..kh {
            let (ylo, yhi, ystart) = s.valid(0, ki, oh, s.height);
            for kj in 0..kw {
                let (xlo, xhi, xstart) = s.valid(1, kj, ow, s.width);
                let row = (c * kh + ki) * kw + kj;
                let src = &col[row * ld..row * ld + oh * ow];
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
                        for (o, v) in from.iter().enumerate() {
                            line[x0 + o * s.stride[1]] += v;
                        }
                    }
                }
            }
        }
    }
}

/// Lays a group's per-image `[rows, pixels]` matrices (`images`, one after another) side by
/// side as one `[rows, n·pixels]` matrix in `wide`.
fn side_by_side(images: &[f32], rows: usize, pixels: usize, wide: &mut [f32]) {
    let ld = images.len() / rows;
    for (i, image) in images.chunks(rows * pixels).enumerate() {
        for (r, src) in image.chunks(pixels).enumerate() {
            wide[r * ld + i * pixels..][..pixels].copy_from_slice(src);
        }
    }
}

/// The inverse of [`side_by_side`]: one `[rows, n·pixels]` matrix back into `n` images.
fn one_after_another(wide: &[f32], rows: usize, pixels: usize, images: &mut [f32]) {
    let ld = images.len() / rows;
    for (i, image) in images.chunks_mut(rows * pixels).enumerate() {
        for (r, dst) in image.chunks_mut(pixels).enumerate() {
            dst.copy_from_slice(&wide[r * ld + i * pixels..][..pixels]);
        }
    }
}

/// How to spread `jobs` independent groups over the pool: whole groups per thread when there
/// are enough of them, otherwise one group at a time with the GEMM itself split.
fn gemm_threads(jobs: usize) -> usize {
    let threads = rayon::current_num_threads();
    if jobs >= threads { 1 } else { threads }
}

/// Per-thread scratch space: the group's im2col matrix and its other wide operand.
#[derive(Default)]
struct Scratch {
    col: Vec<f32>,
    wide: Vec<f32>,
}

impl Scratch {
    /// The two buffers, at least `col` and `wide` floats long (contents unspecified).
    fn take(&mut self, col: usize, wide: usize) -> (&mut [f32], &mut [f32]) {
        if self.col.len() < col {
            self.col.resize(col, 0.0);
        }
        if self.wide.len() < wide {
            self.wide.resize(wide, 0.0);
        }
        (&mut self.col[..col], &mut self.wide[..wide])
    }
}

/// Runs `one` on each group of `group` images: `dst` and `src` are cut into groups of
/// `dst_image` and `src_image` floats per image, over the pool when there are enough groups.
fn for_each_group<F>(
    dst: &mut [f32],
    dst_image: usize,
    src: &[f32],
    src_image: usize,
    group: usize,
    one: F,
) where
    F: Fn(&mut Scratch, (&mut [f32], &[f32])) + Sync + Send,
{
    let dst = dst.chunks_mut(group * dst_image);
    if gemm_threads(dst.len()) > 1 {
        let mut scratch = Scratch::default();
        dst.zip(src.chunks(group * src_image))
            .for_each(|job| one(&mut scratch, job));
    } else {
        dst.collect::<Vec<_>>()
            .into_par_iter()
            .zip(src.par_chunks(group * src_image))
            .for_each_init(Scratch::default, one);
    }
}

/// `out` `[batch, out, oh, ow]` = `weight` `[out, in·kh·kw]` ⋆ `x` `[batch, in, h, w]` (+ `bias`):
/// per group of images, one GEMM of the weight with the images' im2col matrices side by side.
pub(crate) fn forward(s: &ConvShape, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let (k, p, o) = (s.patch(), s.pixels(), s.out_channels);
    let mut out = vec![0.0f32; s.batch * o * p];
    let group = s.group();
    let threads = gemm_threads(s.batch.div_ceil(group));
    let w = Mat::rows(weight, o, k);
    let one = |scratch: &mut Scratch, (dst, images): (&mut [f32], &[f32])| {
        let n = images.len() / s.image();
        let ld = n * p;
        let (col, wide) = scratch.take(
            if n == 1 && s.is_pointwise() {
                0
            } else {
                k * ld
            },
            o * ld,
        );
        let product = if n == 1 { &mut *dst } else { &mut *wide };
        if let Some(bias) = bias {
            for (row, b) in product.chunks_exact_mut(ld).zip(bias) {
                row.fill(*b);
            }
        }
        let cols = if n == 1 && s.is_pointwise() {
            Mat::rows(images, k, p)
        } else {
            for (i, image) in images.chunks(s.image()).enumerate() {
                im2col(s, image, &mut col[i * p..], ld);
            }
            Mat::rows(col, k, ld)
        };
        matmul(product, w, cols, bias.is_some(), threads);
        if n > 1 {
            one_after_another(wide, o, p, dst);
        }
    };
    for_each_group(&mut out, o * p, x, s.image(), group, one);
    out
}

/// The gradient of the input: per group of images, `Wᵀ · dy` (the images' output gradients
/// side by side) folded back onto each image by col2im.
pub(crate) fn input_grad(s: &ConvShape, weight: &[f32], grad: &[f32]) -> Vec<f32> {
    let (k, p, o) = (s.patch(), s.pixels(), s.out_channels);
    let mut dx = vec![0.0f32; s.batch * s.image()];
    let group = s.group();
    let threads = gemm_threads(s.batch.div_ceil(group));
    let wt = Mat::rows(weight, o, k).t();
    let one = |scratch: &mut Scratch, (dst, dys): (&mut [f32], &[f32])| {
        let n = dys.len() / (o * p);
        let ld = n * p;
        if n == 1 && s.is_pointwise() {
            matmul(dst, wt, Mat::rows(dys, o, p), false, threads);
            return;
        }
        let (col, wide) = scratch.take(k * ld, if n == 1 { 0 } else { o * ld });
        let dy = if n == 1 {
            dys
        } else {
            side_by_side(dys, o, p, wide);
            &*wide
        };
        matmul(col, wt, Mat::rows(dy, o, ld), false, threads);
        for (i, image) in dst.chunks_mut(s.image()).enumerate() {
            col2im(s, &col[i * p..], ld, image);
        }
    };
    for_each_group(&mut dx, s.image(), grad, o * p, group, one);
    dx
}

/// Images per partial sum of the weight gradient is `ceil(batch / PARTIALS)`: a fixed split,
/// so the sum's order, and so its rounding, is the same on every run and any thread count.
const PARTIALS: usize = 8;

/// The gradient of the weight `[out, in·kh·kw]`: `Σ dy · colᵀ` over groups of images (each
/// group one GEMM with the images side by side), summed over fixed runs of images into
/// partials in parallel, then the partials added in order.
pub(crate) fn weight_grad(s: &ConvShape, x: &[f32], grad: &[f32]) -> Vec<f32> {
    let (k, p, o) = (s.patch(), s.pixels(), s.out_channels);
    let run = s.batch.div_ceil(PARTIALS).max(1);
    let group = s.group().min(run);
    let threads = gemm_threads(s.batch.div_ceil(run));
    let partial = |(images, dys): (&[f32], &[f32])| {
        let mut acc = vec![0.0f32; o * k];
        let mut scratch = Scratch::default();
        let groups = images
            .chunks(group * s.image())
            .zip(dys.chunks(group * o * p));
        for (j, (images, dys)) in groups.enumerate() {
            let n = dys.len() / (o * p);
            let ld = n * p;
            let single = n == 1 && s.is_pointwise();
            let (col, wide) = scratch.take(
                if single { 0 } else { k * ld },
                if n == 1 { 0 } else { o * ld },
            );
            let cols = if single {
                Mat::rows(images, k, p)
            } else {
                for (i, image) in images.chunks(s.image()).enumerate() {
                    im2col(s, image, &mut col[i * p..], ld);
                }
                Mat::rows(col, k, ld)
            };
            let dy = if n == 1 {
                dys
            } else {
                side_by_side(dys, o, p, wide);
                &*wide
            };
            matmul(&mut acc, Mat::rows(dy, o, ld), cols.t(), j > 0, threads);
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
