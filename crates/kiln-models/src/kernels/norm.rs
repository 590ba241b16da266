//! Batch normalization in training mode on contiguous `[batch, channels, pixels]` `f32`
//! slices, forward and backward, with the per-channel sums taken plane by plane in place.
//! Burn's generic `batch_norm_train` swaps the batch and channel axes and copies the tensor to
//! reduce it (twice forward, twice more backward), which made those copies a quarter of the
//! residual CNN's training step (`perf`, docs/performance.md).
//!
//! Each plane (one image's channel) is summed over 16 `f32` lanes and the planes of a channel
//! in `f64`, in a fixed order, so results do not depend on the thread count. The statistics
//! are Burn's: the batch mean and the biased variance per channel.

use rayon::prelude::*;

use super::simd::{LaneSum, simd_kernel};

/// The sizes of one batch norm: `x` is `[batch, channels, pixels]` (`pixels` the product of the
/// dimensions after the channels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NormShape {
    pub batch: usize,
    pub channels: usize,
    pub pixels: usize,
}

impl NormShape {
    /// The shape for a tensor of `dims` (`[batch, channels, ...]`), when it has elements.
    pub fn new(dims: &[usize]) -> Option<Self> {
        let (&batch, rest) = dims.split_first()?;
        let (&channels, rest) = rest.split_first()?;
        let pixels = rest.iter().product();
        (batch * channels * pixels > 0).then_some(Self {
            batch,
            channels,
            pixels,
        })
    }

    /// Values per channel.
    fn count(&self) -> f64 {
        (self.batch * self.pixels) as f64
    }

    /// The plane of image `n`, channel `c`.
    fn plane<'a>(&self, x: &'a [f32], n: usize, c: usize) -> &'a [f32] {
        &x[(n * self.channels + c) * self.pixels..][..self.pixels]
    }
}

/// Per-channel batch mean and biased variance of `x`.
pub(crate) fn statistics(s: &NormShape, x: &[f32]) -> (Vec<f32>, Vec<f32>) {
    (0..s.channels)
        .into_par_iter()
        .map(|c| {
            let arch = pulp::Arch::new();
            let sum: f64 = (0..s.batch)
                .map(|n| {
                    let values = s.plane(x, n, c);
                    f64::from(arch.dispatch(LaneSum { values }))
                })
                .sum();
            let mean = (sum / s.count()) as f32;
            let squares: f64 = (0..s.batch)
                .map(|n| {
                    let x = s.plane(x, n, c);
                    f64::from(arch.dispatch(SquaredDeviations { x, mean }))
                })
                .sum();
            (mean, (squares / s.count()) as f32)
        })
        .unzip()
}

/// `(x - mean) / √(variance + ε) · γ + β` per channel.
pub(crate) fn forward(
    s: &NormShape,
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    mean: &[f32],
    variance: &[f32],
    epsilon: f64,
) -> Vec<f32> {
    let mut out = vec![0.0f32; x.len()];
    out.par_chunks_mut(s.pixels)
        .zip(x.par_chunks(s.pixels))
        .enumerate()
        .for_each(|(i, (dst, plane))| {
            let c = i % s.channels;
            let inv_std = inv_std(variance[c], epsilon);
            let scale = gamma[c] * inv_std;
            pulp::Arch::new().dispatch(Affine {
                dst,
                x: plane,
                mean: mean[c],
                scale,
                shift: beta[c],
            });
        });
    out
}

/// The gradients `(x, γ, β)` of [`forward`] with the batch's own statistics, given the
/// output's gradient `dy`:
/// `dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂))`, `dγ = Σ dy · x̂`, `dβ = Σ dy`, where
/// `x̂ = (x − mean)/σ`, as Burn's `batch_norm_train_backward`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward(
    s: &NormShape,
    x: &[f32],
    gamma: &[f32],
    mean: &[f32],
    variance: &[f32],
    epsilon: f64,
    dy: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    // Per channel: Σ dy and Σ dy · (x − mean).
    let (sum_dy, sum_dy_centered): (Vec<f64>, Vec<f64>) = (0..s.channels)
        .into_par_iter()
        .map(|c| {
            let arch = pulp::Arch::new();
            (0..s.batch).fold((0.0f64, 0.0f64), |(a, b), n| {
                let (da, db) = arch.dispatch(GradSums {
                    dy: s.plane(dy, n, c),
                    x: s.plane(x, n, c),
                    mean: mean[c],
                });
                (a + f64::from(da), b + f64::from(db))
            })
        })
        .unzip();
    let inv_stds: Vec<f32> = variance.iter().map(|&v| inv_std(v, epsilon)).collect();
    let beta_grad: Vec<f32> = sum_dy.iter().map(|&v| v as f32).collect();
    let gamma_grad: Vec<f32> = sum_dy_centered
        .iter()
        .zip(&inv_stds)
        .map(|(&v, &inv)| (v * f64::from(inv)) as f32)
        .collect();
    let mut dx = vec![0.0f32; x.len()];
    dx.par_chunks_mut(s.pixels)
        .zip(x.par_chunks(s.pixels).zip(dy.par_chunks(s.pixels)))
        .enumerate()
        .for_each(|(i, (dst, (plane, grad)))| {
            let c = i % s.channels;
            let inv = inv_stds[c];
            let mean_dy = (sum_dy[c] / s.count()) as f32;
            // mean(dy · x̂) · x̂ = (x − mean) · inv² · mean(dy · (x − mean)).
            let slope = (sum_dy_centered[c] / s.count()) as f32 * inv * inv;
            pulp::Arch::new().dispatch(InputGrad {
                dst,
                x: plane,
                dy: grad,
                mean: mean[c],
                mean_dy,
                slope,
                scale: gamma[c] * inv,
            });
        });
    (dx, gamma_grad, beta_grad)
}

/// `1 / √(variance + ε)`, as Burn computes it (in the tensor's precision).
fn inv_std(variance: f32, epsilon: f64) -> f32 {
    1.0 / (variance + epsilon as f32).sqrt()
}

simd_kernel! {
    /// `Σ (x − mean)²` over 16 interleaved lanes (a fixed order).
    struct SquaredDeviations<'a> {
        x: &'a [f32],
        mean: f32,
    } -> f32 {
        let mut lanes = [0.0f32; 16];
        let mut chunks = x.chunks_exact(16);
        for chunk in &mut chunks {
            for (l, &v) in lanes.iter_mut().zip(chunk) {
                *l += (v - mean) * (v - mean);
            }
        }
        let rest: f32 = chunks.remainder().iter().map(|&v| (v - mean) * (v - mean)).sum();
        lanes.iter().sum::<f32>() + rest
    }
}

simd_kernel! {
    /// `(Σ dy, Σ dy · (x − mean))` over 16 interleaved lanes (a fixed order).
    struct GradSums<'a> {
        dy: &'a [f32],
        x: &'a [f32],
        mean: f32,
    } -> (f32, f32) {
        let mut sums = [0.0f32; 16];
        let mut products = [0.0f32; 16];
        let mut chunks = dy.chunks_exact(16).zip(x.chunks_exact(16));
        for (g, v) in &mut chunks {
            for (((s, p), &g), &v) in sums.iter_mut().zip(products.iter_mut()).zip(g).zip(v) {
                *s += g;
                *p += g * (v - mean);
            }
        }
        let tail = dy.len() / 16 * 16;
        let (mut sum, mut product) = (0.0f32, 0.0f32);
        for (&g, &v) in dy[tail..].iter().zip(&x[tail..]) {
            sum += g;
            product += g * (v - mean);
        }
        (sums.iter().sum::<f32>() + sum, products.iter().sum::<f32>() + product)
    }
}

simd_kernel! {
    /// `dst = (x − mean) · scale + shift`.
    struct Affine<'a> {
        dst: &'a mut [f32],
        x: &'a [f32],
        mean: f32,
        scale: f32,
        shift: f32,
    } -> () {
        for (d, &v) in dst.iter_mut().zip(x) {
            *d = (v - mean) * scale + shift;
        }
    }
}

simd_kernel! {
    /// `dst = scale · (dy − mean_dy − (x − mean) · slope)`.
    struct InputGrad<'a> {
        dst: &'a mut [f32],
        x: &'a [f32],
        dy: &'a [f32],
        mean: f32,
        mean_dy: f32,
        slope: f32,
        scale: f32,
    } -> () {
        for ((d, &v), &g) in dst.iter_mut().zip(x).zip(dy) {
            *d = scale * (g - mean_dy - (v - mean) * slope);
        }
    }
}
