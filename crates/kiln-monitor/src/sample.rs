//! [`Sample`]: a sorted, optionally weighted set of values that drift statistics compare.

use kiln_data::QuantileSketch;

use crate::error::{MonitorError, Result};
use crate::sort::sort_floats;

/// A sorted sample of finite values. Raw data has unit weights; a
/// [`QuantileSketch`] (what column profiles and monitor windows keep) gives a weighted
/// sample that stands for many more values in bounded memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    values: Vec<f64>,
    /// Cumulative weights (`cum[i]` = weight of `values[..=i]`); `None` for unit weights.
    cum: Option<Vec<f64>>,
    count: u64,
}

impl Sample {
    /// A sample of raw values; every value must be finite.
    pub fn new(values: impl Into<Vec<f64>>) -> Result<Self> {
        Self::named(values.into(), "sample")
    }

    /// As [`new`](Self::new), with `what` naming the input in errors.
    pub(crate) fn named(values: Vec<f64>, what: &str) -> Result<Self> {
        if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(MonitorError::NonFinite {
                what: what.to_owned(),
                index,
                value,
            });
        }
        Ok(Self::from_finite(values))
    }

    /// A sample of values already known to be finite.
    pub(crate) fn from_finite(mut values: Vec<f64>) -> Self {
        sort_floats(&mut values);
        let count = values.len() as u64;
        Self {
            values,
            cum: None,
            count,
        }
    }

    /// The weighted sample a sketch keeps; it stands for [`QuantileSketch::count`] values.
    pub fn from_sketch(sketch: &QuantileSketch) -> Self {
        let items = sketch.weighted();
        if items.iter().all(|&(_, w)| w == 1) {
            return Self {
                count: items.len() as u64,
                values: items.into_iter().map(|(v, _)| v).collect(),
                cum: None,
            };
        }
        let mut cum = Vec::with_capacity(items.len());
        let mut total = 0.0;
        let mut values = Vec::with_capacity(items.len());
        for (v, w) in items {
            total += w as f64;
            values.push(v);
            cum.push(total);
        }
        Self {
            values,
            cum: Some(cum),
            count: sketch.count(),
        }
    }

    /// How many values the sample stands for.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Whether every value was kept (unit weights), so statistics on it are exact.
    pub fn is_exact(&self) -> bool {
        self.cum.is_none()
    }

    /// The stored values, ascending.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Total weight.
    pub(crate) fn total(&self) -> f64 {
        match &self.cum {
            None => self.values.len() as f64,
            Some(c) => c.last().copied().unwrap_or(0.0),
        }
    }

    /// The share of weight in the first `i` stored values, computed as SciPy does for raw
    /// data (`i / n`).
    pub(crate) fn cdf_at(&self, i: usize) -> f64 {
        match &self.cum {
            None => i as f64 / self.values.len() as f64,
            Some(_) if i == 0 => 0.0,
            Some(c) => c[i - 1] / c[c.len() - 1],
        }
    }

    /// Weight of the first `i` stored values.
    pub(crate) fn weight_below(&self, i: usize) -> f64 {
        match &self.cum {
            None => i as f64,
            Some(_) if i == 0 => 0.0,
            Some(c) => c[i - 1],
        }
    }

    /// Weighted mean.
    pub fn mean(&self) -> Option<f64> {
        if self.is_empty() {
            return None;
        }
        let sum: f64 = (0..self.values.len())
            .map(|i| self.values[i] * self.weight(i))
            .sum();
        Some(sum / self.total())
    }

    /// Population standard deviation (NumPy's `np.std`, `ddof = 0`).
    pub fn std(&self) -> Option<f64> {
        let mean = self.mean()?;
        let ss: f64 = (0..self.values.len())
            .map(|i| (self.values[i] - mean).powi(2) * self.weight(i))
            .sum();
        Some((ss / self.total()).sqrt())
    }

    fn weight(&self, i: usize) -> f64 {
        self.weight_below(i + 1) - self.weight_below(i)
    }

    /// The `q`-quantile: NumPy's default (linear) for raw data; for a weighted sample, linear
    /// interpolation between the centres of the values' weight.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.values.len();
        if n == 0 {
            return None;
        }
        let q = q.clamp(0.0, 1.0);
        let (lo, t) = match &self.cum {
            None => {
                // NumPy's method "linear" (its default): the virtual index is `(n − 1)·q`,
                // exactly as NumPy computes it, so a whole index lands on a value and not a
                // few ulps beside it (which would move values across a bin's edge).
                let virtual_index = ((n - 1) as f64 * q).clamp(0.0, (n - 1) as f64);
                let lo = virtual_index.floor() as usize;
                (lo.min(n - 1), virtual_index - lo as f64)
            }
            Some(cum) => {
                let total = cum[n - 1];
                let rank = q * (total - 1.0);
                let centre = |i: usize| self.weight_below(i) + (self.weight(i) - 1.0) / 2.0;
                let centres: Vec<f64> = (0..n).map(centre).collect();
                let i = centres.partition_point(|&c| c <= rank);
                if i == 0 {
                    return Some(self.values[0]);
                }
                if i == n {
                    return Some(self.values[n - 1]);
                }
                let (c0, c1) = (centre(i - 1), centre(i));
                (i - 1, (rank - c0) / (c1 - c0))
            }
        };
        let a = self.values[lo];
        let b = self.values[(lo + 1).min(n - 1)];
        // NumPy's `_lerp`.
        let diff = b - a;
        Some(if t >= 0.5 {
            b - diff * (1.0 - t)
        } else {
            a + diff * t
        })
    }

    /// The number of distinct values, counting at most `limit`.
    pub fn distinct(&self, limit: usize) -> usize {
        let mut distinct = 0;
        let mut last = None;
        for &v in &self.values {
            if last != Some(v) {
                distinct += 1;
                if distinct >= limit {
                    break;
                }
                last = Some(v);
            }
        }
        distinct
    }
}
