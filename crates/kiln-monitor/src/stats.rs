//! Drift statistics, each equal to its SciPy counterpart on raw data:
//! [`ks_2samp`] (`scipy.stats.ks_2samp`), [`chi2_contingency`] (`scipy.stats.chi2_contingency`
//! on the 2×k table), [`wasserstein_distance`] (`scipy.stats.wasserstein_distance`),
//! [`jensen_shannon_distance`] (`scipy.spatial.distance.jensenshannon`), and [`psi`] on
//! [`Bins`] cut at reference quantiles or at equal widths.
//!
//! The `*_samples` forms take [`Sample`]s, which may be weighted sketches; on raw data they
//! give the same numbers as the slice forms.

use serde::{Deserialize, Serialize};
use statrs::function::gamma::checked_gamma_ur;

use crate::error::{MonitorError, Result, invalid};
use crate::kolmogorov::{kolmogorov_sf, outer_prob_inside, prob_outside_square};
use crate::sample::Sample;

/// Proportion that replaces an empty bin's in [`psi`] (Evidently's choice), so that a bin
/// empty on one side adds a large but finite term instead of infinity.
pub const PSI_EPSILON: f64 = 1e-4;

/// How [`ks_2samp`] computes its p-value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KsMethod {
    /// SciPy's rule: exact when both samples have at most 10,000 values, else asymptotic.
    Auto,
    /// The exact distribution of the two-sample statistic (lattice paths); falls back to
    /// asymptotic when it cannot be computed, as SciPy does.
    Exact,
    /// The one-sample distribution at the effective size `round(n·m / (n + m))`.
    Asymptotic,
}

/// The result of a two-sided two-sample Kolmogorov–Smirnov test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KsTest {
    /// The largest distance between the two empirical CDFs.
    pub statistic: f64,
    /// The two-sided p-value.
    pub p_value: f64,
    /// The method that produced the p-value ([`KsMethod::Exact`] or
    /// [`KsMethod::Asymptotic`]).
    pub method: KsMethod,
    /// The value where the distance is largest.
    pub location: f64,
    /// `+1` when the first sample's CDF is above the second's there, else `−1`.
    pub sign: i8,
}

/// Two-sided two-sample Kolmogorov–Smirnov test, as `scipy.stats.ks_2samp(a, b, method=…)`.
///
/// # Errors
/// An empty sample or a non-finite value.
pub fn ks_2samp(a: &[f64], b: &[f64], method: KsMethod) -> Result<KsTest> {
    ks_samples(
        &Sample::named(a.to_vec(), "first sample")?,
        &Sample::named(b.to_vec(), "second sample")?,
        method,
    )
}

/// [`ks_2samp`] on [`Sample`]s. On weighted samples the statistic comes from the weighted
/// CDFs and the p-value uses the counts the samples stand for.
pub fn ks_samples(a: &Sample, b: &Sample, method: KsMethod) -> Result<KsTest> {
    non_empty(a, "first sample")?;
    non_empty(b, "second sample")?;
    let (av, bv) = (a.values(), b.values());
    // Walk the distinct values of both; track where cdf(a) − cdf(b) is smallest and largest.
    // Ties between locations go to the one NumPy's argmin/argmax would pick on SciPy's
    // `concatenate([a, b])`: a value of `a` first, then the smallest.
    let (mut i, mut j) = (0, 0);
    let mut max = (f64::NEG_INFINITY, 0.0, false);
    let mut min = (f64::INFINITY, 0.0, false);
    while i < av.len() || j < bv.len() {
        let v = match (av.get(i), bv.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => unreachable!("loop condition"),
        };
        let in_a = av.get(i) == Some(&v);
        while i < av.len() && av[i] <= v {
            i += 1;
        }
        while j < bv.len() && bv[j] <= v {
            j += 1;
        }
        let diff = a.cdf_at(i) - b.cdf_at(j);
        if diff > max.0 || (diff == max.0 && in_a && !max.2) {
            max = (diff, v, in_a);
        }
        if diff < min.0 || (diff == min.0 && in_a && !min.2) {
            min = (diff, v, in_a);
        }
    }
    let min_s = (-min.0).clamp(0.0, 1.0);
    let (mut d, location, sign) = if min_s > max.0 {
        (min_s, min.1, -1)
    } else {
        (max.0, max.1, 1)
    };
    let (n1, n2) = (a.count(), b.count());
    let g = gcd(n1, n2);
    let (n1g, n2g) = (n1 / g, n2 / g);
    let mut method = match method {
        KsMethod::Auto if n1.max(n2) <= 10_000 => KsMethod::Exact,
        KsMethod::Auto => KsMethod::Asymptotic,
        KsMethod::Exact if n1g as f64 >= i32::MAX as f64 / n2g as f64 => KsMethod::Asymptotic,
        m => m,
    };
    let mut p_value = f64::NAN;
    if method == KsMethod::Exact {
        let lcm = (n1 / g) * n2;
        let h = (d * lcm as f64).round_ties_even() as u64;
        d = h as f64 / lcm as f64;
        p_value = if h == 0 {
            1.0
        } else if n1 == n2 {
            prob_outside_square(n1, h)
        } else {
            outer_prob_inside(n1, n2, g, h)
        };
        if !(0.0..=1.0).contains(&p_value) {
            method = KsMethod::Asymptotic;
        }
    }
    if method == KsMethod::Asymptotic {
        let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
        let en = m * n / (m + n);
        p_value = kolmogorov_sf(en.round_ties_even() as u64, d);
    }
    Ok(KsTest {
        statistic: d,
        p_value: p_value.clamp(0.0, 1.0),
        method,
        location,
        sign,
    })
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn non_empty(s: &Sample, what: &str) -> Result<()> {
    if s.is_empty() {
        return Err(MonitorError::Empty {
            what: what.to_owned(),
        });
    }
    Ok(())
}

/// The result of a chi-squared test of independence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChiSquaredTest {
    /// Pearson's statistic (with Yates' correction when `dof` is 1).
    pub statistic: f64,
    /// Its p-value from the chi-squared distribution.
    pub p_value: f64,
    /// Degrees of freedom: categories − 1.
    pub dof: usize,
}

/// Chi-squared test on the 2×k table of a categorical column's counts in the reference and
/// in the current data, as `scipy.stats.chi2_contingency([reference, current])` (with its
/// default Yates correction when there are two categories).
///
/// Categories absent from both sides are dropped (SciPy would refuse the table).
///
/// # Errors
/// Lengths differ, a count is negative or not finite, or a side has no counts at all.
pub fn chi2_contingency(reference: &[f64], current: &[f64]) -> Result<ChiSquaredTest> {
    check_pair(
        reference,
        current,
        "chi-squared counts",
        ["reference counts", "current counts"],
    )?;
    let cols: Vec<(f64, f64)> = reference
        .iter()
        .zip(current)
        .filter(|(r, c)| **r > 0.0 || **c > 0.0)
        .map(|(&r, &c)| (r, c))
        .collect();
    let rows = [
        cols.iter().map(|c| c.0).sum::<f64>(),
        cols.iter().map(|c| c.1).sum::<f64>(),
    ];
    let dof = cols.len().saturating_sub(1);
    if dof == 0 {
        return Ok(ChiSquaredTest {
            statistic: 0.0,
            p_value: 1.0,
            dof,
        });
    }
    let total = rows[0] + rows[1];
    let mut statistic = 0.0;
    for &(r, c) in &cols {
        let col = r + c;
        for (observed, row) in [(r, rows[0]), (c, rows[1])] {
            let expected = row * col / total;
            let mut observed = observed;
            if dof == 1 {
                let diff = expected - observed;
                observed += diff.abs().min(0.5) * diff.signum() * f64::from(diff != 0.0);
            }
            statistic += (observed - expected).powi(2) / expected;
        }
    }
    Ok(ChiSquaredTest {
        statistic,
        p_value: chi2_sf(statistic, dof),
        dof,
    })
}

/// Survival function of the chi-squared distribution.
pub(crate) fn chi2_sf(x: f64, dof: usize) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    checked_gamma_ur(dof as f64 / 2.0, x / 2.0).unwrap_or(0.0)
}

/// Two count vectors of one length, each valid for [`check_counts`].
fn check_pair(a: &[f64], b: &[f64], what: &str, names: [&str; 2]) -> Result<()> {
    if a.len() != b.len() {
        return Err(MonitorError::LengthMismatch {
            what: what.into(),
            left: a.len(),
            right: b.len(),
        });
    }
    check_counts(a, names[0])?;
    check_counts(b, names[1])
}

fn check_counts(counts: &[f64], what: &str) -> Result<()> {
    if let Some((index, &value)) = counts
        .iter()
        .enumerate()
        .find(|(_, c)| !c.is_finite() || **c < 0.0)
    {
        return Err(MonitorError::NonFinite {
            what: format!("{what} (counts must be finite and ≥ 0)"),
            index,
            value,
        });
    }
    if counts.iter().sum::<f64>() <= 0.0 {
        return Err(MonitorError::Empty { what: what.into() });
    }
    Ok(())
}

/// Bins for a numeric column: cut points `c₀ < c₁ < …`; bin 0 holds values below `c₀`, bin
/// `i` values in `[cᵢ₋₁, cᵢ)`, the last values from the last cut up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bins {
    cuts: Vec<f64>,
}

impl Bins {
    /// `n` bins holding equal shares of the reference: cuts at its quantiles
    /// `1/n, …, (n−1)/n` (NumPy's linear `np.quantile`), repeated cuts merged, so a
    /// reference with few distinct values gets fewer bins.
    pub fn quantile(reference: &Sample, n: usize) -> Result<Self> {
        non_empty(reference, "reference sample")?;
        if n < 2 {
            return Err(invalid("bins", format!("{n} bins; use at least 2")));
        }
        let mut cuts: Vec<f64> = (1..n)
            .filter_map(|i| reference.quantile(i as f64 * (1.0 / n as f64)))
            .collect();
        cuts.dedup();
        Ok(Self { cuts })
    }

    /// `n` equal-width bins over the range of both samples (NumPy's
    /// `np.histogram_bin_edges(concatenate([reference, current]), n)`).
    pub fn equal_width(reference: &Sample, current: &Sample, n: usize) -> Result<Self> {
        non_empty(reference, "reference sample")?;
        non_empty(current, "current sample")?;
        if n < 2 {
            return Err(invalid("bins", format!("{n} bins; use at least 2")));
        }
        let (r, c) = (reference.values(), current.values());
        let mut lo = r[0].min(c[0]);
        let mut hi = r[r.len() - 1].max(c[c.len() - 1]);
        if lo == hi {
            (lo, hi) = (lo - 0.5, hi + 0.5);
        }
        let step = (hi - lo) / n as f64;
        Ok(Self {
            cuts: (1..n).map(|i| lo + i as f64 * step).collect(),
        })
    }

    /// Bins at explicit cut points (finite, strictly increasing): for cuts fixed by a domain
    /// (age bands, score grades) or kept from an earlier reference.
    pub fn from_cuts(cuts: Vec<f64>) -> Result<Self> {
        if let Some(i) = cuts.iter().position(|c| !c.is_finite()) {
            return Err(invalid(
                "bins.cuts",
                format!("cut {i} is {}; cuts must be finite", cuts[i]),
            ));
        }
        if let Some(i) = cuts.windows(2).position(|w| w[0] >= w[1]) {
            return Err(invalid(
                "bins.cuts",
                format!(
                    "cut {} ({}) is not above cut {i} ({}); sort the cuts and drop repeats",
                    i + 1,
                    cuts[i + 1],
                    cuts[i]
                ),
            ));
        }
        Ok(Self { cuts })
    }

    /// `n` equal-width bins over the reference's range alone, so the bins stay the same
    /// whatever data is compared with it (values beyond the range fall in the outer bins).
    pub fn equal_width_reference(reference: &Sample, n: usize) -> Result<Self> {
        non_empty(reference, "reference sample")?;
        if n < 2 {
            return Err(invalid("bins", format!("{n} bins; use at least 2")));
        }
        let r = reference.values();
        let (mut lo, mut hi) = (r[0], r[r.len() - 1]);
        if lo == hi {
            (lo, hi) = (lo - 0.5, hi + 0.5);
        }
        let step = (hi - lo) / n as f64;
        Ok(Self {
            cuts: (1..n).map(|i| lo + i as f64 * step).collect(),
        })
    }

    /// The cut points.
    pub fn cuts(&self) -> &[f64] {
        &self.cuts
    }

    /// Number of bins.
    pub fn len(&self) -> usize {
        self.cuts.len() + 1
    }

    /// Always false: there is at least one bin.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The weight of `sample` in each bin.
    pub fn counts(&self, sample: &Sample) -> Vec<f64> {
        let v = sample.values();
        let mut counts = Vec::with_capacity(self.len());
        let mut below = 0.0;
        for &cut in &self.cuts {
            let w = sample.weight_below(v.partition_point(|&x| x < cut));
            counts.push(w - below);
            below = w;
        }
        counts.push(sample.weight_below(v.len()) - below);
        counts
    }

    /// The bin of one value.
    pub fn bin(&self, value: f64) -> usize {
        self.cuts.partition_point(|&c| c <= value)
    }
}

/// Population stability index `Σ (cᵢ − rᵢ) · ln(cᵢ / rᵢ)` over the bins' shares of the
/// reference (`r`) and current (`c`) counts; an empty bin's share is [`PSI_EPSILON`].
///
/// Common reading: below 0.1 no shift, 0.1–0.25 moderate, above 0.25 large.
///
/// # Errors
/// Lengths differ, a count is negative or not finite, or a side has no counts.
pub fn psi(reference: &[f64], current: &[f64]) -> Result<f64> {
    check_pair(
        reference,
        current,
        "PSI bin counts",
        ["reference counts", "current counts"],
    )?;
    let (sr, sc) = (reference.iter().sum::<f64>(), current.iter().sum::<f64>());
    let share = |c: f64, s: f64| if c == 0.0 { PSI_EPSILON } else { c / s };
    Ok(reference
        .iter()
        .zip(current)
        .map(|(&r, &c)| {
            let (r, c) = (share(r, sr), share(c, sc));
            (c - r) * (c / r).ln()
        })
        .sum())
}

/// Wasserstein-1 distance between two samples' distributions, as
/// `scipy.stats.wasserstein_distance(u, v)`.
///
/// # Errors
/// An empty sample or a non-finite value.
pub fn wasserstein_distance(u: &[f64], v: &[f64]) -> Result<f64> {
    wasserstein_samples(
        &Sample::named(u.to_vec(), "first sample")?,
        &Sample::named(v.to_vec(), "second sample")?,
    )
}

/// [`wasserstein_distance`] on [`Sample`]s (weighted samples as SciPy's `u_weights`).
pub fn wasserstein_samples(u: &Sample, v: &Sample) -> Result<f64> {
    non_empty(u, "first sample")?;
    non_empty(v, "second sample")?;
    let (uv, vv) = (u.values(), v.values());
    if u.is_exact() && v.is_exact() && uv.len() == vv.len() {
        // Equal sizes: the distance is the mean gap between order statistics (the same
        // integral, summed per quantile instead of per interval; one pass, no merge).
        let mut acc = [0.0f64; 4];
        let (a4, b4) = (uv.chunks_exact(4), vv.chunks_exact(4));
        let (ra, rb) = (a4.remainder(), b4.remainder());
        for (a, b) in a4.zip(b4) {
            for k in 0..4 {
                acc[k] += (a[k] - b[k]).abs();
            }
        }
        let tail: f64 = ra.iter().zip(rb).map(|(a, b)| (a - b).abs()).sum();
        return Ok((acc[0] + acc[1] + acc[2] + acc[3] + tail) / uv.len() as f64);
    }
    // Walk the merged values one at a time: between consecutive values x_k ≤ x_{k+1} the
    // CDFs differ by |F_u − F_v| after x_k. Ties add zero-width intervals, so the sum equals
    // SciPy's over its sorted concatenation. The unit-weight loop is branch-free.
    let (mut i, mut j) = (0usize, 0usize);
    let mut sum = 0.0;
    let mut prev = uv[0].min(vv[0]);
    let mut gap = 0.0;
    let (nu, nv) = (uv.len() as f64, vv.len() as f64);
    let unit = u.is_exact() && v.is_exact();
    let cdf_gap = |i: usize, j: usize| {
        if unit {
            (i as f64 / nu - j as f64 / nv).abs()
        } else {
            (u.cdf_at(i) - v.cdf_at(j)).abs()
        }
    };
    while i < uv.len() && j < vv.len() {
        let (x, y) = (uv[i], vv[j]);
        let take_u = x <= y;
        let next = if take_u { x } else { y };
        sum += gap * (next - prev);
        i += usize::from(take_u);
        j += usize::from(!take_u);
        gap = cdf_gap(i, j);
        prev = next;
    }
    for &next in &uv[i..] {
        sum += gap * (next - prev);
        i += 1;
        gap = cdf_gap(i, j);
        prev = next;
    }
    for &next in &vv[j..] {
        sum += gap * (next - prev);
        j += 1;
        gap = cdf_gap(i, j);
        prev = next;
    }
    Ok(sum)
}

/// Jensen–Shannon distance between two frequency vectors (normalized first), as
/// `scipy.spatial.distance.jensenshannon(p, q, base)`: natural logarithm when `base` is
/// `None`, so the distance lies in `[0, √ln 2 ≈ 0.833]`; base 2 gives `[0, 1]`.
///
/// # Errors
/// Lengths differ, a count is negative or not finite, a side sums to zero, or the base is
/// not above 1.
pub fn jensen_shannon_distance(p: &[f64], q: &[f64], base: Option<f64>) -> Result<f64> {
    check_pair(
        p,
        q,
        "Jensen–Shannon frequencies",
        ["first frequencies", "second frequencies"],
    )?;
    if let Some(b) = base
        && !(b > 1.0 && b.is_finite())
    {
        return Err(invalid("base", format!("{b}; use a finite base above 1")));
    }
    let (sp, sq) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
    let rel_entr = |x: f64, y: f64| if x > 0.0 { x * (x / y).ln() } else { 0.0 };
    let (mut left, mut right) = (0.0, 0.0);
    for (&a, &b) in p.iter().zip(q) {
        let (a, b) = (a / sp, b / sq);
        let m = (a + b) / 2.0;
        left += rel_entr(a, m);
        right += rel_entr(b, m);
    }
    let mut js = left + right;
    if let Some(b) = base {
        js /= b.ln();
    }
    Ok((js / 2.0).max(0.0).sqrt())
}
