//! Early stopping on a validation metric.

use serde::{Deserialize, Serialize};

use crate::events::EpochMetrics;

/// The epoch metric early stopping watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EarlyStoppingMetric {
    /// Validation loss (lower is better).
    ValidLoss,
    /// Validation accuracy (higher is better).
    ValidAccuracy,
    /// Validation R² (higher is better), for regression.
    ValidR2,
    /// Training loss (lower is better), for runs without validation data.
    TrainLoss,
}

impl EarlyStoppingMetric {
    /// Whether it is a validation metric (so the run needs validation data).
    pub(crate) fn needs_validation(self) -> bool {
        self != Self::TrainLoss
    }

    /// The watched value, oriented so that lower is better.
    pub(crate) fn score(self, m: &EpochMetrics) -> Option<f64> {
        match self {
            Self::ValidLoss => m.valid_loss,
            Self::ValidAccuracy => m.valid_accuracy.map(|a| -a),
            Self::ValidR2 => m.valid_r2.map(|r| -r),
            Self::TrainLoss => Some(m.train_loss),
        }
    }
}

/// Stops training when `metric` has not improved by more than `min_delta` for `patience`
/// epochs, and (by default) hands back the weights of the best epoch, as Keras'
/// `EarlyStopping(restore_best_weights=True)` does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// The metric.
    pub metric: EarlyStoppingMetric,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// The smallest change that counts as an improvement.
    pub min_delta: f64,
    /// Return the best epoch's weights instead of the last ones.
    pub restore_best: bool,
}

impl EarlyStopping {
    /// Watches `metric` with `patience`, `min_delta` 0, restoring the best weights.
    pub fn new(metric: EarlyStoppingMetric, patience: usize) -> Self {
        Self {
            metric,
            patience,
            min_delta: 0.0,
            restore_best: true,
        }
    }

    /// Sets the minimum improvement.
    pub fn with_min_delta(mut self, min_delta: f64) -> Self {
        self.min_delta = min_delta;
        self
    }

    /// Whether to restore the best weights (default true).
    pub fn with_restore_best(mut self, restore: bool) -> Self {
        self.restore_best = restore;
        self
    }
}

/// Progress of early stopping within one run.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    best: Option<f64>,
    since_best: usize,
}

/// What the tracker concluded about an epoch.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The metric improved: this epoch is the best so far.
    Improved,
    /// No improvement, patience left.
    Wait,
    /// No improvement for `patience` epochs.
    Stop,
}

impl Tracker {
    /// A tracker continuing from saved progress.
    pub(crate) fn restore(best: Option<f64>, since_best: usize) -> Self {
        Self { best, since_best }
    }

    /// The progress to save.
    pub(crate) fn state(&self) -> (Option<f64>, usize) {
        (self.best, self.since_best)
    }

    pub(crate) fn observe(&mut self, rule: &EarlyStopping, score: f64) -> Verdict {
        match self.best {
            Some(best) if score >= best - rule.min_delta => {
                self.since_best += 1;
                if self.since_best >= rule.patience {
                    Verdict::Stop
                } else {
                    Verdict::Wait
                }
            }
            _ => {
                self.best = Some(score);
                self.since_best = 0;
                Verdict::Improved
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_after_patience_epochs_without_improvement() {
        let rule = EarlyStopping::new(EarlyStoppingMetric::ValidLoss, 2).with_min_delta(0.01);
        let mut t = Tracker::default();
        let verdicts: Vec<Verdict> = [1.0, 0.5, 0.495, 0.6, 0.4, 0.41, 0.42]
            .into_iter()
            .map(|s| t.observe(&rule, s))
            .collect();
        use Verdict::*;
        assert_eq!(
            verdicts,
            [Improved, Improved, Wait, Stop, Improved, Wait, Stop]
        );
    }
}
