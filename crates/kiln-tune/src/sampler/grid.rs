//! Exhaustive search over a grid of values.

use std::collections::BTreeMap;

use super::{History, RandomSampler, Sampler};
use crate::distribution::{Distribution, ParamValue};
use crate::error::{Result, invalid};
use crate::frozen::FrozenTrial;

/// Every combination of the given values once: trial `n` takes combination `n` (mixed radix
/// over the names in sorted order), so parallel workers never repeat one. Parameters outside
/// the grid are drawn at random. The study stops when every combination has been started.
#[derive(Debug, Clone)]
pub struct GridSampler {
    grid: BTreeMap<String, Vec<ParamValue>>,
    fallback: RandomSampler,
}

impl GridSampler {
    /// A grid of `values` per parameter name.
    pub fn new(grid: BTreeMap<String, Vec<ParamValue>>) -> Result<Self> {
        if let Some((name, _)) = grid.iter().find(|(_, v)| v.is_empty()) {
            return Err(invalid(name, "a grid axis needs at least one value"));
        }
        Ok(Self {
            grid,
            fallback: RandomSampler::new(0),
        })
    }

    /// Combinations in the grid.
    pub fn len(&self) -> usize {
        self.grid.values().map(Vec::len).product()
    }

    /// Whether the grid is empty (never: each axis has a value).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `name` in combination `index`.
    fn value(&self, index: usize, name: &str) -> Option<&ParamValue> {
        let mut rest = index % self.len();
        for (axis, values) in &self.grid {
            let here = rest % values.len();
            rest /= values.len();
            if axis == name {
                return Some(&values[here]);
            }
        }
        None
    }
}

impl Sampler for GridSampler {
    fn sample_independent(
        &self,
        history: &History<'_>,
        trial: &FrozenTrial,
        name: &str,
        distribution: &Distribution,
    ) -> f64 {
        self.value(trial.number as usize, name)
            .and_then(|v| distribution.to_internal(v))
            .unwrap_or_else(|| {
                self.fallback
                    .sample_independent(history, trial, name, distribution)
            })
    }

    fn max_trials(&self) -> Option<usize> {
        Some(self.len())
    }
}
