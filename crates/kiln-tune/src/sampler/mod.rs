//! Samplers: where a trial's parameters come from.
//!
//! The trait is small: [`Sampler::sample_independent`] draws one parameter, and
//! [`Sampler::sample_relative`] may draw several jointly when a trial starts (multivariate
//! TPE, NSGA-II's children). CMA-ES or GP-BO fit behind it later.

mod grid;
mod nsga2;
mod qmc;
mod random;
mod tpe;

use std::collections::BTreeMap;

pub use grid::GridSampler;
pub use nsga2::{Crossover, Mutation, Nsga2Sampler};
pub use qmc::QmcSampler;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
pub use random::RandomSampler;
pub use tpe::{TpeSampler, TpeStartup};

use crate::direction::Direction;
use crate::distribution::Distribution;
use crate::frozen::FrozenTrial;

/// What a sampler sees of the study: its directions and every trial so far.
#[derive(Debug, Clone, Copy)]
pub struct History<'a> {
    /// Whether lower or higher is better, per objective (one in a single-objective study).
    pub directions: &'a [Direction],
    /// Every trial, ordered by number (the current one included, still running).
    pub trials: &'a [FrozenTrial],
}

impl History<'_> {
    /// The first (in a single-objective study, the only) objective's direction.
    pub fn direction(&self) -> Direction {
        self.directions
            .first()
            .copied()
            .unwrap_or(Direction::Minimize)
    }

    /// Whether the study has more than one objective.
    pub fn is_multi_objective(&self) -> bool {
        self.directions.len() > 1
    }
}

/// Draws parameter values. Implementations are deterministic given their seed, the trial
/// number and the history.
pub trait Sampler: Send + Sync {
    /// Values drawn jointly when `trial` starts, by name, as internal values. A value is used
    /// when the objective later asks for that name with the same distribution.
    fn sample_relative(
        &self,
        _history: &History<'_>,
        _trial: &FrozenTrial,
    ) -> BTreeMap<String, (Distribution, f64)> {
        BTreeMap::new()
    }

    /// One parameter's internal value.
    fn sample_independent(
        &self,
        history: &History<'_>,
        trial: &FrozenTrial,
        name: &str,
        distribution: &Distribution,
    ) -> f64;

    /// The most trials the sampler can propose (a grid's size); `None` for no limit. A study
    /// stops once it has started this many.
    fn max_trials(&self) -> Option<usize> {
        None
    }
}

/// A boxed sampler is a sampler, so samplers chosen at run time plug into a study.
impl Sampler for Box<dyn Sampler> {
    fn sample_relative(
        &self,
        history: &History<'_>,
        trial: &FrozenTrial,
    ) -> BTreeMap<String, (Distribution, f64)> {
        (**self).sample_relative(history, trial)
    }

    fn sample_independent(
        &self,
        history: &History<'_>,
        trial: &FrozenTrial,
        name: &str,
        distribution: &Distribution,
    ) -> f64 {
        (**self).sample_independent(history, trial, name, distribution)
    }

    fn max_trials(&self) -> Option<usize> {
        (**self).max_trials()
    }
}

/// A generator for one (seed, trial, purpose) triple: the same inputs give the same stream
/// whatever order threads run in.
pub(crate) fn rng_for(seed: u64, number: u64, salt: &str) -> ChaCha8Rng {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in salt.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mixed = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17)
        ^ number.wrapping_mul(0xbf58_476d_1ce4_e5b9)
        ^ h;
    ChaCha8Rng::seed_from_u64(mixed)
}
