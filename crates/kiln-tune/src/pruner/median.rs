//! [`MedianPruner`]: the percentile rule at 50.

use crate::direction::Direction;
use crate::frozen::FrozenTrial;
use crate::pruner::{PercentilePruner, Pruner, StudyView};

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

    fn prune_view(&self, direction: Direction, study: &StudyView<'_>, trial: &FrozenTrial) -> bool {
        self.0.prune_view(direction, study, trial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frozen::TrialState;
    use crate::pruner::tests::trial;

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
    fn pruned_trials_count_neither_toward_startup_nor_the_median() {
        // 5 completed trials at 2.0 and many pruned ones with low early values.
        let mut history: Vec<FrozenTrial> = (0..5)
            .map(|i| trial(i, TrialState::Complete, &[2.0, 2.0]))
            .collect();
        let p = MedianPruner::new();
        let running = trial(99, TrialState::Running, &[1.5]);
        assert!(!p.prune(Direction::Minimize, &history, &running));
        history.extend((5..20).map(|i| trial(i, TrialState::Pruned, &[0.5])));
        assert!(!p.prune(Direction::Minimize, &history, &running));
        // Pruned trials alone are not startup trials.
        let pruned_only: Vec<FrozenTrial> = (0..10)
            .map(|i| trial(i, TrialState::Pruned, &[0.5]))
            .collect();
        let bad = trial(99, TrialState::Running, &[9.0]);
        assert!(!p.prune(Direction::Minimize, &pruned_only, &bad));
    }
}
