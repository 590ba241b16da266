//! [`PercentilePruner`]: prune below a percentile of the other trials at the same step.

use crate::direction::Direction;
use crate::error::{Result, invalid};
use crate::frozen::FrozenTrial;
use crate::pruner::{Pruner, StepIndex, StudyView};

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

/// The value at `q` (0–1) of the losses of `raw` (values sorted ascending), interpolated
/// linearly as NumPy's default. Losses are the values for minimizing and the negated values in
/// reverse for maximizing, read in place: the same numbers as negating and sorting.
fn quantile(raw: &[f64], direction: Direction, q: f64) -> f64 {
    let n = raw.len();
    let loss = |i: usize| match direction {
        Direction::Minimize => raw[i],
        Direction::Maximize => -raw[n - 1 - i],
    };
    let pos = q * (n - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos.fract());
    if i + 1 < n {
        loss(i) + (loss(i + 1) - loss(i)) * frac
    } else {
        loss(i)
    }
}

impl Pruner for PercentilePruner {
    fn validate(&self) -> Result<()> {
        self.check()
    }

    fn prune(&self, direction: Direction, trials: &[FrozenTrial], trial: &FrozenTrial) -> bool {
        // Asked without a study's index: index the one step this question reads.
        let Some((step, _)) = trial.last_step() else {
            return false;
        };
        let index = StepIndex::at_step(trials, step, trial.id);
        self.prune_view(direction, &StudyView::new(trials, &index), trial)
    }

    fn prune_view(&self, direction: Direction, study: &StudyView<'_>, trial: &FrozenTrial) -> bool {
        let Some((step, _)) = trial.last_step() else {
            return false;
        };
        // As Optuna: only completed trials count toward the startup trials and the percentile
        // (pruned trials' early values would drag the bar down to their level). The running
        // trial is not among them.
        let completed = study.completed();
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
        let others = study.completed_values_at(step);
        if others.len() < self.n_min_trials {
            return false;
        }
        best > quantile(others, direction, self.percentile / 100.0)
    }
}
