//! Independent uniform sampling.

use rand::Rng;

use super::{History, Sampler, rng_for};
use crate::distribution::Distribution;
use crate::frozen::FrozenTrial;

/// Uniform draws: floats uniform (or log-uniform), integers and steps with equal mass per
/// value, categoricals uniform.
#[derive(Debug, Clone)]
pub struct RandomSampler {
    seed: u64,
}

impl RandomSampler {
    /// A sampler with `seed`.
    pub fn new(seed: u64) -> Self {
        Self { seed }
    }
}

/// One uniform draw from `distribution` with `rng`, as an internal value.
pub(crate) fn uniform(distribution: &Distribution, rng: &mut impl Rng) -> f64 {
    if let Distribution::Categorical { choices } = distribution {
        return rng.random_range(0..choices.len()) as f64;
    }
    let (lo, hi) = distribution.working_range();
    let w = if hi > lo {
        rng.random_range(lo..hi)
    } else {
        lo
    };
    distribution.working_to_internal(w)
}

impl Sampler for RandomSampler {
    fn sample_independent(
        &self,
        _history: &History<'_>,
        trial: &FrozenTrial,
        name: &str,
        distribution: &Distribution,
    ) -> f64 {
        uniform(distribution, &mut rng_for(self.seed, trial.number, name))
    }
}
