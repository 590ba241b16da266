//! [`PercentilePruner`]: prune below a percentile of the other trials at the same step.

use crate::direction::Direction;
use crate::error::{Result, invalid};
use crate::frozen::{FrozenTrial, TrialState};
use crate::pruner::Pruner;

/// Prunes a trial whose best value so far is worse than the given percentile of the completed
/// trials' values at the same step (Optuna's `PercentilePruner`). With percentile 50
/// it is the median rule.
#[derive(Debug, Clone)]
pub struct PercentilePruner {
    percentile: f64,
    n_startup_trials: usize,
    n_warmup_steps: u64,
    interval_steps: u64,
    n_min_trials: usize,
}

impl PercentilePruner {
    /// Keeps trials in the best `percentile` percent (0–100, checked when a study takes the
    /// pruner); 5 startup trials, no warm-up, every step, at least one trial to compare with.
    pub fn new(percentile: f64) -> Self {
        Self {
            percentile,
            n_startup_trials: 5,
            n_warmup_steps: 0,
            interval_steps: 1,
            n_min_trials: 1,
        }
    }

    /// Finished trials before any pruning (default 5).
    pub fn with_n_startup_trials(mut self, n: usize) -> Self {
        self.n_startup_trials = n;
        self
    }

    /// Steps a trial runs before it can be pruned (default 0).
    pub fn with_n_warmup_steps(mut self, n: u64) -> Self {
        self.n_warmup_steps = n;
        self
    }

    /// Check only every `n` steps after the warm-up (default 1; at least 1).
    pub fn with_interval_steps(mut self, n: u64) -> Self {
        self.interval_steps = n;
        self
    }

    /// Trials that must have reported the step before comparing (default 1; at least 1).
    pub fn with_n_min_trials(mut self, n: usize) -> Self {
        self.n_min_trials = n;
        self
    }

    /// Checks the settings (see [`Pruner::validate`]).
    fn check(&self) -> Result<()> {
        if !(0.0..=100.0).contains(&self.percentile) {
            return Err(invalid(
                "percentile",
                format!(
                    "{} is outside 0–100; pass a percentile such as 25 or 50",
                    self.percentile
                ),
            ));
        }
        if self.interval_steps == 0 {
            return Err(invalid(
                "interval_steps",
                "must be at least 1 (1: check every step)",
            ));
        }
        if self.n_min_trials == 0 {
            return Err(invalid("n_min_trials", "must be at least 1"));
        }
        Ok(())
    }
}

/// The value at `q` (0–1) of sorted values, interpolated linearly as NumPy's default.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos.fract());
    if i + 1 < sorted.len() {
        sorted[i] + (sorted[i + 1] - sorted[i]) * frac
    } else {
        sorted[i]
    }
}

impl Pruner for PercentilePruner {
    fn validate(&self) -> Result<()> {
        self.check()
    }

    fn prune(&self, direction: Direction, trials: &[FrozenTrial], trial: &FrozenTrial) -> bool {
        let Some((step, _)) = trial.last_step() else {
            return false;
        };
        // As Optuna: only completed trials count toward the startup trials and the percentile
        // (pruned trials' early values would drag the bar down to their level).
        let completed = trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .count();
        if completed == 0 || completed < self.n_startup_trials || step < self.n_warmup_steps {
            return false;
        }
        if !(step - self.n_warmup_steps).is_multiple_of(self.interval_steps) {
            return false;
        }
        // The trial's best so far, oriented so lower is better.
        let Some(best) = trial
            .intermediate
            .values()
            .map(|&v| direction.loss(v))
            .filter(|v| !v.is_nan())
            .min_by(f64::total_cmp)
        else {
            return true; // only NaN reported
        };
        let mut others: Vec<f64> = trials
            .iter()
            .filter(|t| t.id != trial.id && t.state == TrialState::Complete)
            .filter_map(|t| t.intermediate.get(&step))
            .map(|&v| direction.loss(v))
            .filter(|v| !v.is_nan())
            .collect();
        if others.len() < self.n_min_trials {
            return false;
        }
        others.sort_by(f64::total_cmp);
        best > quantile(&others, self.percentile / 100.0)
    }
}
