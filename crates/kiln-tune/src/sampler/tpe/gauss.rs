//! Normal-distribution helpers: the sampler's Gaussian draws, normal mass and CDF, erfc,
//! log-sum-exp.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Standard normal draws by Box–Muller, both of each pair used.
#[derive(Default)]
pub(super) struct Gauss {
    pub(super) spare: Option<f64>,
}

impl Gauss {
    pub(super) fn standard(&mut self, rng: &mut ChaCha8Rng) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
        let r = (-2.0 * u1.ln()).sqrt();
        let (sin, cos) = (std::f64::consts::TAU * u2).sin_cos();
        self.spare = Some(r * sin);
        r * cos
    }

    /// A draw from N(μ, σ) truncated to `[lo, hi]` (by rejection).
    pub(super) fn truncated(
        &mut self,
        rng: &mut ChaCha8Rng,
        mu: f64,
        sigma: f64,
        lo: f64,
        hi: f64,
    ) -> f64 {
        for _ in 0..100 {
            let x = mu + sigma * self.standard(rng);
            if (lo..=hi).contains(&x) {
                return x;
            }
        }
        mu.clamp(lo, hi)
    }
}

/// The mass of N(μ, σ) inside `[lo, hi]` (at least 1e-300), given `1 / σ`.
pub(super) fn normal_mass(mu: f64, inv_sigma: f64, lo: f64, hi: f64) -> f64 {
    let (a, b) = ((lo - mu) * inv_sigma, (hi - mu) * inv_sigma);
    // More than 6 σ inside a bound, the mass beyond it (below 1e-9) is under the error of
    // `erfc` itself: skip it.
    let upper = if b > 6.0 { 1.0 } else { normal_cdf(b) };
    let lower = if a < -6.0 { 0.0 } else { normal_cdf(a) };
    (upper - lower).max(1e-300)
}

/// Φ(z) via erfc.
pub(super) fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// Complementary error function (Numerical Recipes' Chebyshev fit, |error| < 1.2e-7).
pub(super) fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// `ln Σ exp(tᵢ)`. Terms more than 40 below the largest add less than `4e-18` of it each, below
/// a double's resolution, so they are skipped: with many observations most mixture components
/// are far from a candidate, and this saves most of the `exp` calls.
pub(super) fn log_sum_exp(terms: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = terms.clone().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    let floor = max - 40.0;
    max + terms
        .filter(|&t| t > floor)
        .map(|t| (t - max).exp())
        .sum::<f64>()
        .ln()
}
