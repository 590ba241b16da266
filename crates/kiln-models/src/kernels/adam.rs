//! One Adam step over a parameter in a single pass: the gradient (plus L2 weight decay), both
//! moments and the update per element, in place where the buffers are not shared, in chunks over
//! rayon's pool. The arithmetic is Burn's `Adam` (burn-optim 0.22), term for term.

use rayon::prelude::*;

use super::AdamStep;
use super::simd::simd_kernel;

/// Elements per parallel job: large enough that a job outweighs its scheduling.
const CHUNK: usize = 16 * 1024;

/// `(combined factor, epsilon term)` of step `s`, as burn-optim computes them:
/// `m · combined / (√v + epsilon term)` is the step direction.
fn factors(s: &AdamStep) -> (f32, f32) {
    let t = s.time as i32;
    let bias_correction2_sqrt = (1.0 - s.beta_2.powi(t)).sqrt();
    let combined = bias_correction2_sqrt / (1.0 - s.beta_1.powi(t));
    (combined, s.epsilon * bias_correction2_sqrt)
}

/// One job's slices: `((param, grad), first moment), second moment`.
type Chunk<'a> = (((&'a mut [f32], &'a [f32]), &'a mut [f32]), &'a mut [f32]);

/// Updates `param`, `m1` and `m2` in place with gradient `grad` (`m1`, `m2` zero on the first
/// step).
pub(crate) fn step(s: &AdamStep, param: &mut [f32], grad: &[f32], m1: &mut [f32], m2: &mut [f32]) {
    let (combined, eps) = factors(s);
    let lr = s.lr as f32;
    let (b1, b2, wd) = (s.beta_1, s.beta_2, s.weight_decay);
    let run = |(((p, g), m), v): Chunk<'_>| {
        pulp::Arch::new().dispatch(Update {
            p,
            g,
            m,
            v,
            constants: [combined, eps, lr, b1, b2, wd],
        });
    };
    if param.len() <= CHUNK {
        run((((param, grad), m1), m2));
    } else {
        param
            .par_chunks_mut(CHUNK)
            .zip(grad.par_chunks(CHUNK))
            .zip(m1.par_chunks_mut(CHUNK))
            .zip(m2.par_chunks_mut(CHUNK))
            .for_each(run);
    }
}

simd_kernel! {
    /// One chunk's update; `constants` are `[combined, epsilon term, lr, beta_1, beta_2,
    /// weight decay]`.
    struct Update<'a> {
        p: &'a mut [f32],
        g: &'a [f32],
        m: &'a mut [f32],
        v: &'a mut [f32],
        constants: [f32; 6],
    } -> () {
        let [combined, eps, lr, b1, b2, wd] = constants;
        let (c1, c2) = (1.0 - b1, 1.0 - b2);
        for (((p, g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            let g = if wd != 0.0 { *p * wd + g } else { *g };
            *m = *m * b1 + g * c1;
            *v = *v * b2 + g * g * c2;
            let update = *m * combined / (v.sqrt() + eps);
            *p -= update * lr;
        }
    }
}
