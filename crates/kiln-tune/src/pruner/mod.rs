//! Pruners: stop unpromising trials early, from their reported intermediate values.

use crate::direction::Direction;
use crate::frozen::{FrozenTrial, TrialState};

/// Decides whether a running trial should stop, given every trial of the study.
pub trait Pruner: Send + Sync {
    /// Whether `trial` (running, with its latest report) should be pruned.
    fn prune(&self, direction: Direction, trials: &[FrozenTrial], trial: &FrozenTrial) -> bool;
}

/// Never prunes.
#[derive(Debug, Clone, Copy, Default)]
pub struct NopPruner;

impl Pruner for NopPruner {
    fn prune(&self, _: Direction, _: &[FrozenTrial], _: &FrozenTrial) -> bool {
        false
    }
}

/// Prunes a trial whose best value so far is worse than the given percentile of the other
/// finished trials' values at the same step (Optuna's `PercentilePruner`). With percentile 50
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
    /// Keeps trials in the best `percentile` percent (0–100); 5 startup trials, no warm-up,
    /// every step, at least one trial to compare with.
    pub fn new(percentile: f64) -> Self {
        Self {
            percentile: percentile.clamp(0.0, 100.0),
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

    /// Check only every `n` steps after the warm-up (default 1).
    pub fn with_interval_steps(mut self, n: u64) -> Self {
        self.interval_steps = n.max(1);
        self
    }

    /// Trials that must have reported the step before comparing (default 1).
    pub fn with_n_min_trials(mut self, n: usize) -> Self {
        self.n_min_trials = n.max(1);
        self
    }
}

/// The median rule: [`PercentilePruner`] at 50.
#[derive(Debug, Clone)]
pub struct MedianPruner(PercentilePruner);

impl MedianPruner {
    /// Median pruning with 5 startup trials and no warm-up.
    pub fn new() -> Self {
        Self(PercentilePruner::new(50.0))
    }

    /// Finished trials before any pruning (default 5).
    pub fn with_n_startup_trials(self, n: usize) -> Self {
        Self(self.0.with_n_startup_trials(n))
    }

    /// Steps a trial runs before it can be pruned (default 0).
    pub fn with_n_warmup_steps(self, n: u64) -> Self {
        Self(self.0.with_n_warmup_steps(n))
    }
}

impl Default for MedianPruner {
    fn default() -> Self {
        Self::new()
    }
}

impl Pruner for MedianPruner {
    fn prune(&self, direction: Direction, trials: &[FrozenTrial], trial: &FrozenTrial) -> bool {
        self.0.prune(direction, trials, trial)
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
    fn prune(&self, direction: Direction, trials: &[FrozenTrial], trial: &FrozenTrial) -> bool {
        let Some((step, _)) = trial.last_step() else {
            return false;
        };
        let finished = trials
            .iter()
            .filter(|t| matches!(t.state, TrialState::Complete | TrialState::Pruned))
            .count();
        if finished < self.n_startup_trials || step < self.n_warmup_steps {
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
            .filter(|t| t.id != trial.id && t.state.is_finished() && t.state != TrialState::Failed)
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
    bracket: Option<(usize, usize)>,
}

impl SuccessiveHalvingPruner {
    /// Rungs at `min_resource · η^k` (η = `reduction_factor` ≥ 2).
    pub fn new(min_resource: u64, reduction_factor: u64) -> Self {
        Self {
            min_resource: min_resource.max(1),
            reduction_factor: reduction_factor.max(2),
            min_early_stopping_rate: 0,
            bracket: None,
        }
    }

    /// Shifts the first rung to `min_resource · η^s` (default s = 0).
    pub fn with_min_early_stopping_rate(mut self, s: u32) -> Self {
        self.min_early_stopping_rate = s;
        self
    }

    fn rung_step(&self, rung: u32) -> u64 {
        self.min_resource.saturating_mul(
            self.reduction_factor
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
fn bracket_of(number: u64, n_brackets: usize) -> usize {
    let mut x = number.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((x ^ (x >> 31)) % n_brackets as u64) as usize
}

impl Pruner for SuccessiveHalvingPruner {
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
        let promotable = (competing.len() / self.reduction_factor as usize).max(1) - 1;
        direction.loss(value) > competing[promotable]
    }
}

/// Hyperband (Li et al. 2018) over ASHA brackets, as Optuna's `HyperbandPruner`: trials are
/// spread over `⌊log_η(max / min)⌋ + 1` brackets, bracket `s` starting its rungs at
/// `min_resource · η^s`; trials compete only within their bracket.
#[derive(Debug, Clone)]
pub struct HyperbandPruner {
    brackets: Vec<SuccessiveHalvingPruner>,
}

impl HyperbandPruner {
    /// Brackets for steps from `min_resource` to `max_resource` with reduction factor η.
    pub fn new(min_resource: u64, max_resource: u64, reduction_factor: u64) -> Self {
        let eta = reduction_factor.max(2) as f64;
        let ratio = (max_resource.max(min_resource.max(1)) as f64) / min_resource.max(1) as f64;
        let n = (ratio.ln() / eta.ln() + 1e-9).floor() as usize + 1;
        let brackets = (0..n)
            .map(|s| {
                let mut p = SuccessiveHalvingPruner::new(min_resource, reduction_factor)
                    .with_min_early_stopping_rate(s as u32);
                p.bracket = Some((s, n));
                p
            })
            .collect();
        Self { brackets }
    }

    /// Brackets in use.
    pub fn n_brackets(&self) -> usize {
        self.brackets.len()
    }
}

impl Pruner for HyperbandPruner {
    fn prune(&self, direction: Direction, trials: &[FrozenTrial], trial: &FrozenTrial) -> bool {
        let index = bracket_of(trial.number, self.brackets.len());
        self.brackets[index].prune(direction, trials, trial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(id: u64, state: TrialState, values: &[f64]) -> FrozenTrial {
        let mut t = FrozenTrial::new(id, id);
        t.state = state;
        for (s, &v) in values.iter().enumerate() {
            t.intermediate.insert(s as u64 + 1, v);
        }
        t
    }

    #[test]
    fn median_prunes_the_worse_half() {
        let history: Vec<FrozenTrial> = (0..5)
            .map(|i| trial(i, TrialState::Complete, &[i as f64, i as f64]))
            .collect();
        let p = MedianPruner::new();
        let bad = trial(9, TrialState::Running, &[3.5]);
        let good = trial(10, TrialState::Running, &[1.0]);
        assert!(p.prune(Direction::Minimize, &history, &bad));
        assert!(!p.prune(Direction::Minimize, &history, &good));
        assert!(p.prune(Direction::Maximize, &history, &good));
        // Not before the startup trials finished.
        assert!(!p.prune(Direction::Minimize, &history[..3], &bad));
    }

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
