//! 2-D max-pooling on contiguous NCHW `f32` slices, planes spread over rayon's pool. The
//! backward pass finds each window's maximum again from the input (the first one, as Burn's
//! kernels do) instead of keeping an index tensor from the forward pass; the 2×2 stride-2
//! window without padding, the one the CNNs use, has its own loop.

use rayon::prelude::*;

use super::simd::simd_kernel;

/// The sizes of one max-pool (dilation 1, floor mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PoolShape {
    /// `batch · channels`.
    pub planes: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub out_height: usize,
    pub out_width: usize,
}

impl PoolShape {
    /// The pool of `x` `[batch, channels, h, w]`, or `None` when the output would be empty or
    /// a window could lie wholly in the padding.
    pub fn new(
        x: [usize; 4],
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Option<Self> {
        let out = |i: usize| {
            if padding[i] * 2 > kernel[i] || stride[i] == 0 {
                return None;
            }
            (x[2 + i] + 2 * padding[i])
                .checked_sub(kernel[i])
                .map(|v| v / stride[i] + 1)
        };
        Some(Self {
            planes: x[0] * x[1],
            height: x[2],
            width: x[3],
            kernel,
            stride,
            padding,
            out_height: out(0)?,
            out_width: out(1)?,
        })
    }

    fn is_two_by_two(&self) -> bool {
        self.kernel == [2, 2] && self.stride == [2, 2] && self.padding == [0, 0]
    }

    /// The input offset (within a plane) of the first maximum of output `(oy, ox)`'s window.
    fn argmax(&self, plane: &[f32], oy: usize, ox: usize) -> usize {
        let y0 = (oy * self.stride[0]) as isize - self.padding[0] as isize;
        let x0 = (ox * self.stride[1]) as isize - self.padding[1] as isize;
        let ys = y0.max(0) as usize..((y0 + self.kernel[0] as isize) as usize).min(self.height);
        let xs = x0.max(0) as usize..((x0 + self.kernel[1] as isize) as usize).min(self.width);
        let mut best = ys.start * self.width + xs.start;
        for y in ys {
            for x in xs.clone() {
                let i = y * self.width + x;
                if max(plane[best], plane[i]).to_bits() != plane[best].to_bits() {
                    best = i;
                }
            }
        }
        best
    }
}

/// Max-pools `x` `[planes, h, w]` into `[planes, oh, ow]`.
pub(crate) fn forward(s: &PoolShape, x: &[f32]) -> Vec<f32> {
    let (h, w, oh, ow) = (s.height, s.width, s.out_height, s.out_width);
    let mut out = vec![0.0f32; s.planes * oh * ow];
    out.par_chunks_mut(oh * ow)
        .zip(x.par_chunks(h * w))
        .for_each(|(dst, plane)| {
            if s.is_two_by_two() {
                pulp::Arch::new().dispatch(ForwardTwoByTwo { plane, w, ow, dst });
            } else {
                for oy in 0..oh {
                    for ox in 0..ow {
                        dst[oy * ow + ox] = plane[s.argmax(plane, oy, ox)];
                    }
                }
            }
        });
    out
}

/// `a` unless `b` is larger (or NaN), matching [`PoolShape::argmax`]'s first-maximum rule.
#[inline]
fn max(a: f32, b: f32) -> f32 {
    if b > a || b.is_nan() && !a.is_nan() {
        b
    } else {
        a
    }
}

/// The gradient of the input: each output's gradient added at its window's first maximum.
pub(crate) fn backward(s: &PoolShape, x: &[f32], grad: &[f32]) -> Vec<f32> {
    let (h, w, oh, ow) = (s.height, s.width, s.out_height, s.out_width);
    let mut dx = vec![0.0f32; s.planes * h * w];
    dx.par_chunks_mut(h * w)
        .zip(x.par_chunks(h * w).zip(grad.par_chunks(oh * ow)))
        .for_each(|(dst, (plane, dy))| {
            if s.is_two_by_two() {
                pulp::Arch::new().dispatch(BackwardTwoByTwo {
                    plane,
                    dy,
                    w,
                    ow,
                    dst,
                });
            } else {
                for oy in 0..oh {
                    for ox in 0..ow {
                        dst[s.argmax(plane, oy, ox)] += dy[oy * ow + ox];
                    }
                }
            }
        });
    dx
}

/// `a` unless `b` is larger: the branch-free form of [`max`] for the 2×2 loops (a NaN in the
/// window is not propagated there; training stops on the NaN loss it makes anyway).
#[inline(always)]
fn max_fast(a: f32, b: f32) -> f32 {
    if b > a { b } else { a }
}

simd_kernel! {
    /// The 2×2 stride-2 forward pass of one plane: row pairs, window pairs, no index arithmetic.
    struct ForwardTwoByTwo<'a> {
        plane: &'a [f32],
        w: usize,
        ow: usize,
        dst: &'a mut [f32],
    } -> () {
        for (oy, out) in dst.chunks_exact_mut(ow).enumerate() {
            let top = &plane[2 * oy * w..][..2 * ow];
            let bottom = &plane[(2 * oy + 1) * w..][..2 * ow];
            for ((o, t), b) in out
                .iter_mut()
                .zip(top.chunks_exact(2))
                .zip(bottom.chunks_exact(2))
            {
                *o = max_fast(max_fast(t[0], t[1]), max_fast(b[0], b[1]));
            }
        }
    }
}

simd_kernel! {
    /// The 2×2 stride-2 backward pass of one plane: each window's gradient goes to its first
    /// maximum (in reading order), every covered element written once. The choice is made with
    /// bit masks, not branches, so the loop has no jumps on comparisons (NaN-ordered float
    /// compares made the branchy form several times slower than the forward pass).
    struct BackwardTwoByTwo<'a> {
        plane: &'a [f32],
        dy: &'a [f32],
        w: usize,
        ow: usize,
        dst: &'a mut [f32],
    } -> () {
        /// All ones when `b`, else zero.
        #[inline(always)]
        fn mask(b: bool) -> u32 {
            u32::from(b).wrapping_neg()
        }
        for (oy, g) in dy.chunks_exact(ow).enumerate() {
            let top = &plane[2 * oy * w..][..2 * ow];
            let bottom = &plane[(2 * oy + 1) * w..][..2 * ow];
            let (upper, lower) = dst[2 * oy * w..].split_at_mut(w);
            let (upper, lower) = (&mut upper[..2 * ow], &mut lower[..2 * ow]);
            for ((((g, t), b), du), dl) in g
                .iter()
                .zip(top.chunks_exact(2))
                .zip(bottom.chunks_exact(2))
                .zip(upper.chunks_exact_mut(2))
                .zip(lower.chunks_exact_mut(2))
            {
                let m = max_fast(max_fast(t[0], t[1]), max_fast(b[0], b[1]));
                let first = mask(t[0] == m);
                let second = mask(t[1] == m) & !first;
                let third = mask(b[0] == m) & !(first | second);
                let fourth = !(first | second | third);
                let g = g.to_bits();
                du[0] = f32::from_bits(g & first);
                du[1] = f32::from_bits(g & second);
                dl[0] = f32::from_bits(g & third);
                dl[1] = f32::from_bits(g & fourth);
            }
        }
    }
}
