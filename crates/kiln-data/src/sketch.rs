//! A mergeable quantile sketch (KLL-style compactors with deterministic compaction).

use serde::{Deserialize, Serialize};

/// Approximate quantiles of a stream in bounded memory; exact while it holds at most `k`
/// values. Sketches of chunks [`merge`](Self::merge) into the sketch of the whole.
///
/// Level `i` holds values of weight `2^i`. When a level outgrows `k`, it is sorted and every
/// other value (alternating offset, so no randomness) moves up a level with double weight.
/// Rank error is about `log2(n / k) / k` of `n`; with the default `k = 4096` that is under
/// 0.1% for a billion values, in at most ~20 levels × 4096 values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantileSketch {
    k: usize,
    count: u64,
    levels: Vec<Vec<f64>>,
    odd: bool,
}

impl Default for QuantileSketch {
    fn default() -> Self {
        Self::new(4096)
    }
}

impl QuantileSketch {
    /// A sketch whose levels hold up to `k` values (at least 8).
    pub fn new(k: usize) -> Self {
        Self {
            k: k.max(8),
            count: 0,
            levels: vec![Vec::new()],
            odd: false,
        }
    }

    /// Adds a value (NaN is ignored).
    pub fn insert(&mut self, value: f64) {
        if value.is_nan() {
            return;
        }
        self.count += 1;
        self.levels[0].push(value);
        if self.levels[0].len() > self.k {
            self.compact(0);
        }
    }

    /// The number of values inserted.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Folds another sketch into this one.
    pub fn merge(&mut self, other: &Self) {
        self.count += other.count;
        for (i, level) in other.levels.iter().enumerate() {
            if self.levels.len() <= i {
                self.levels.push(Vec::new());
            }
            self.levels[i].extend_from_slice(level);
        }
        for i in 0..self.levels.len() {
            if self.levels[i].len() > self.k {
                self.compact(i);
            }
        }
    }

    fn compact(&mut self, level: usize) {
        let mut values = std::mem::take(&mut self.levels[level]);
        values.sort_by(f64::total_cmp);
        // An odd count leaves one value behind so total weight is preserved exactly.
        let keep = if values.len() % 2 == 1 {
            values.pop()
        } else {
            None
        };
        let start = usize::from(self.odd);
        self.odd = !self.odd;
        let promoted: Vec<f64> = values.iter().skip(start).step_by(2).copied().collect();
        if self.levels.len() <= level + 1 {
            self.levels.push(Vec::new());
        }
        self.levels[level + 1].extend(promoted);
        self.levels[level].extend(keep);
        if self.levels[level + 1].len() > self.k {
            self.compact(level + 1);
        }
    }

    /// The values kept, each with the number of inserted values it stands for, sorted.
    pub fn weighted(&self) -> Vec<(f64, u64)> {
        let mut items: Vec<(f64, u64)> = self
            .levels
            .iter()
            .enumerate()
            .flat_map(|(i, l)| l.iter().map(move |&v| (v, 1u64 << i)))
            .collect();
        items.sort_by(|a, b| a.0.total_cmp(&b.0));
        items
    }

    /// The `q`-quantile (`0 ≤ q ≤ 1`) by linear interpolation between closest ranks (as
    /// NumPy's default); `None` for an empty sketch.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.quantiles(&[q]).pop().flatten()
    }

    /// Several quantiles at once (one sort).
    pub fn quantiles(&self, qs: &[f64]) -> Vec<Option<f64>> {
        let items = self.weighted();
        let total: u64 = items.iter().map(|x| x.1).sum();
        if total == 0 {
            return vec![None; qs.len()];
        }
        // Position of each item's weight centre on the 0..total-1 rank scale.
        let mut centres = Vec::with_capacity(items.len());
        let mut seen = 0u64;
        for &(_, w) in &items {
            centres.push(seen as f64 + (w as f64 - 1.0) / 2.0);
            seen += w;
        }
        qs.iter()
            .map(|&q| {
                let rank = q.clamp(0.0, 1.0) * (total - 1) as f64;
                let i = centres.partition_point(|&c| c <= rank);
                Some(if i == 0 {
                    items[0].0
                } else if i == items.len() {
                    items[items.len() - 1].0
                } else {
                    let (c0, c1) = (centres[i - 1], centres[i]);
                    let t = (rank - c0) / (c1 - c0);
                    items[i - 1].0 + t * (items[i].0 - items[i - 1].0)
                })
            })
            .collect()
    }

    /// Counts of values in `bins` equal-width bins over `[min, max]` (the last bin closed).
    pub fn histogram(&self, min: f64, max: f64, bins: usize) -> Vec<u64> {
        let mut counts = vec![0u64; bins];
        if bins == 0 || max.partial_cmp(&min).is_none_or(|o| o.is_lt()) {
            return counts;
        }
        let width = (max - min) / bins as f64;
        for (v, w) in self.weighted() {
            let b = if width > 0.0 {
                (((v - min) / width) as usize).min(bins - 1)
            } else {
                0
            };
            counts[b] += w;
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_for_small_inputs() {
        let mut s = QuantileSketch::new(64);
        for v in [5.0, 1.0, 3.0, 2.0, 4.0] {
            s.insert(v);
        }
        assert_eq!(s.quantile(0.0), Some(1.0));
        assert_eq!(s.quantile(0.5), Some(3.0));
        assert_eq!(s.quantile(0.25), Some(2.0));
        assert_eq!(s.quantile(1.0), Some(5.0));
        assert_eq!(s.quantile(0.125), Some(1.5));
    }

    #[test]
    fn large_streams_stay_accurate_and_bounded() {
        let n = 200_000;
        let mut whole = QuantileSketch::new(512);
        let mut parts = [QuantileSketch::new(512), QuantileSketch::new(512)];
        // A scrambled permutation of 0..n.
        for i in 0..n {
            let v = ((i as u64 * 7_919) % n as u64) as f64;
            whole.insert(v);
            parts[i % 2].insert(v);
        }
        let [mut a, b] = parts;
        a.merge(&b);
        for s in [&whole, &a] {
            assert_eq!(s.count(), n as u64);
            let stored: usize = s.levels.iter().map(Vec::len).sum();
            assert!(stored < 512 * 12, "sketch holds {stored} values");
            for q in [0.01, 0.25, 0.5, 0.75, 0.99] {
                let got = s.quantile(q).unwrap();
                let want = q * (n - 1) as f64;
                assert!(
                    (got - want).abs() < 0.01 * n as f64,
                    "q{q}: {got} vs {want}"
                );
            }
            let hist = s.histogram(0.0, (n - 1) as f64, 4);
            assert_eq!(hist.iter().sum::<u64>(), n as u64);
            for h in hist {
                assert!((h as f64 - n as f64 / 4.0).abs() < 0.01 * n as f64);
            }
        }
    }
}
