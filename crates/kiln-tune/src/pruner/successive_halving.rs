//! [`SuccessiveHalvingPruner`]: asynchronous successive halving (ASHA).

use crate::direction::Direction;
use crate::error::{Result, invalid};
use crate::frozen::FrozenTrial;
use crate::pruner::Pruner;

/// Asynchronous successive halving (ASHA, Li et al. 2020, as Optuna's
/// `SuccessiveHalvingPruner`): rung `k` sits at step `min_resource · η^(s + k)`; a trial that
/// reaches a rung continues only if its value there is in the best `1/η` of all values
/// recorded at that rung so far (the best one while fewer than `η` have arrived).
#[derive(Debug, Clone)]
pub struct SuccessiveHalvingPruner {
    min_resource: u64,
    reduction_factor: u64,
    min_early_stopping_rate: u32,
    /// Only trials in this bracket compete (Hyperband); `None` for all.
    pub(super) bracket: Option<(usize, usize)>,
}

impl SuccessiveHalvingPruner {
    /// Rungs at `min_resource · η^k` (`min_resource` ≥ 1, η = `reduction_factor` ≥ 2; checked
    /// when a study takes the pruner).
    pub fn new(min_resource: u64, reduction_factor: u64) -> Self {
        Self {
            min_resource,
            reduction_factor,
            min_early_stopping_rate: 0,
            bracket: None,
        }
    }

    /// Shifts the first rung to `min_resource · η^s` (default s = 0).
    pub fn with_min_early_stopping_rate(mut self, s: u32) -> Self {
        self.min_early_stopping_rate = s;
        self
    }

    /// Checks the settings (see [`Pruner::validate`]).
    pub(super) fn check(&self) -> Result<()> {
        if self.min_resource == 0 {
            return Err(invalid(
                "min_resource",
                "must be at least 1 (the step of the first rung)",
            ));
        }
        if self.reduction_factor < 2 {
            return Err(invalid(
                "reduction_factor",
                format!(
                    "{} keeps every trial; use 2 or more (3 is usual)",
                    self.reduction_factor
                ),
            ));
        }
        Ok(())
    }

    pub(super) fn min_resource(&self) -> u64 {
        self.min_resource
    }

    fn rung_step(&self, rung: u32) -> u64 {
        // Invalid settings are refused by `check`; these floors only keep `prune` total.
        self.min_resource.max(1).saturating_mul(
            self.reduction_factor
                .max(2)
                .saturating_pow(self.min_early_stopping_rate + rung),
        )
    }

    /// The trial's value at `step`: the last report at or before it.
    fn value_at(trial: &FrozenTrial, step: u64) -> Option<f64> {
        trial
            .intermediate
            .range(..=step)
            .next_back()
            .map(|(_, &v)| v)
    }

    fn competes(&self, trial: &FrozenTrial) -> bool {
        match self.bracket {
            None => true,
            Some((index, _)) => bracket_of(trial.number, self.bracket_count()) == index,
        }
    }

    fn bracket_count(&self) -> usize {
        self.bracket.map_or(1, |(_, n)| n)
    }
}

/// Hyperband's bracket of a trial: a deterministic hash of its number, so every worker agrees.
pub(super) fn bracket_of(number: u64, n_brackets: usize) -> usize {
    let mut x = number.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((x ^ (x >> 31)) % n_brackets as u64) as usize
}

impl Pruner for SuccessiveHalvingPruner {
    fn validate(&self) -> Result<()> {
        self.check()
    }

    fn prune(&self, direction: Direction, trials: &[FrozenTrial], trial: &FrozenTrial) -> bool {
        let Some((step, value)) = trial.last_step() else {
            return false;
        };
        if value.is_nan() {
            return true;
        }
        // The highest rung the trial has reached decides, when it reports exactly there.
        let mut rung = 0;
        while self.rung_step(rung + 1) <= step {
            rung += 1;
        }
        let rung_step = self.rung_step(rung);
        if step != rung_step {
            return false;
        }
        let mut competing: Vec<f64> = trials
            .iter()
            .filter(|t| t.id != trial.id && self.competes(t))
            .filter(|t| t.last_step().is_some_and(|(s, _)| s >= rung_step))
            .filter_map(|t| Self::value_at(t, rung_step))
            .map(|v| direction.loss(v))
            .filter(|v| !v.is_nan())
            .collect();
        competing.push(direction.loss(value));
        competing.sort_by(f64::total_cmp);
        let promotable = (competing.len() / self.reduction_factor.max(2) as usize).max(1) - 1;
        direction.loss(value) > competing[promotable]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frozen::TrialState;
    use crate::pruner::HyperbandPruner;
    use crate::pruner::tests::trial;

    #[test]
    fn asha_keeps_the_top_fraction_at_each_rung() {
        // η = 2, rungs at steps 1, 2, 4.
        let p = SuccessiveHalvingPruner::new(1, 2);
        let history: Vec<FrozenTrial> = (0..4)
            .map(|i| trial(i, TrialState::Complete, &[i as f64]))
            .collect();
        // 5 values at rung 1 → the best 2 continue.
        assert!(!p.prune(
            Direction::Minimize,
            &history,
            &trial(7, TrialState::Running, &[0.5])
        ));
        assert!(p.prune(
            Direction::Minimize,
            &history,
            &trial(8, TrialState::Running, &[1.5])
        ));
        // Between rungs nothing is decided.
        assert!(!p.prune(
            Direction::Minimize,
            &history,
            &trial(9, TrialState::Running, &[0.5, 9.0, 9.0])
        ));
        let hb = HyperbandPruner::new(1, 27, 3);
        assert_eq!(hb.n_brackets(), 4);
    }
}
