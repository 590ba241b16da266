//! Quasi-random sampling: a scrambled Halton sequence.

use std::sync::Mutex;

use rand::seq::SliceRandom;

use super::{History, Sampler, rng_for};
use crate::distribution::Distribution;
use crate::frozen::FrozenTrial;

const PRIMES: [u64; 40] = [
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173,
];

/// A scrambled Halton sequence: trial `n` takes point `n + 1`, one dimension per parameter in
/// the order the objective first asks for them; each dimension's digits are permuted by a
/// seeded random permutation (zero kept in place), which breaks the correlation of plain
/// Halton in higher dimensions, and the whole dimension is rotated by a seeded offset. Covers
/// the space more evenly than random draws for the same
/// budget. Beyond 40 parameters, extra ones are drawn at random.
#[derive(Debug)]
pub struct QmcSampler {
    seed: u64,
    dims: Mutex<Vec<String>>,
}

impl QmcSampler {
    /// A sampler with `seed` (it picks the digit permutations).
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            dims: Mutex::new(Vec::new()),
        }
    }

    fn dimension(&self, name: &str) -> usize {
        let mut dims = self
            .dims
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match dims.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                dims.push(name.to_owned());
                dims.len() - 1
            }
        }
    }

    /// Point `index` of dimension `dim` in `[0, 1)`, shifted by a seeded random offset
    /// (Cranley–Patterson rotation) so different seeds give different, equally even point sets.
    fn point(&self, index: u64, dim: usize) -> f64 {
        let shift: f64 = rand::Rng::random(&mut rng_for(self.seed, dim as u64, "halton-shift"));
        (self.raw_point(index, dim) + shift).fract()
    }

    /// The scrambled (unshifted) Halton point.
    fn raw_point(&self, index: u64, dim: usize) -> f64 {
        let base = PRIMES[dim];
        let mut perm: Vec<u64> = (1..base).collect();
        perm.shuffle(&mut rng_for(self.seed, dim as u64, "halton"));
        let (mut i, mut f, mut x) = (index, 1.0 / base as f64, 0.0);
        while i > 0 {
            let digit = i % base;
            let scrambled = if digit == 0 {
                0
            } else {
                perm[digit as usize - 1]
            };
            x += scrambled as f64 * f;
            i /= base;
            f /= base as f64;
        }
        x
    }
}

impl Sampler for QmcSampler {
    fn sample_independent(
        &self,
        _history: &History<'_>,
        trial: &FrozenTrial,
        name: &str,
        distribution: &Distribution,
    ) -> f64 {
        let dim = self.dimension(name);
        if dim >= PRIMES.len() {
            return super::random::uniform(
                distribution,
                &mut rng_for(self.seed, trial.number, name),
            );
        }
        let u = self.point(trial.number + 1, dim);
        if let Distribution::Categorical { choices } = distribution {
            return ((u * choices.len() as f64).floor()).min(choices.len() as f64 - 1.0);
        }
        let (lo, hi) = distribution.working_range();
        distribution.working_to_internal(lo + u * (hi - lo))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halton_points_fill_each_stratum() {
        let q = QmcSampler::new(3);
        // In base 2 the first 2^k points hit every interval of width 2^-k once.
        let mut hits = [0; 8];
        for i in 1..=8 {
            hits[(q.raw_point(i, 0) * 8.0 + 1e-9) as usize] += 1;
        }
        assert_eq!(hits, [1; 8]);
        let mut hits = [0; 9];
        for i in 1..=9 {
            hits[(q.raw_point(i, 1) * 9.0 + 1e-9) as usize] += 1;
        }
        assert_eq!(hits, [1; 9]);
    }
}
