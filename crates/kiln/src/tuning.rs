//! Tuning meets training: a trainer observer that reports each epoch's validation metric to a
//! trial and stops the run when the trial's pruner says so.
//!
//! ```no_run
//! use kiln::prelude::*;
//! use kiln::tune::{Direction, Study, SuccessiveHalvingPruner, TuneError};
//! use kiln::tuning::PruneOnEpoch;
//!
//! # fn data() -> (ClassificationSet, ClassificationSet) { unimplemented!() }
//! let (train, valid) = data();
//! let study = Study::builder("mlp")
//!     .with_direction(Direction::Maximize)
//!     .with_pruner(SuccessiveHalvingPruner::new(1, 3))
//!     .load_or_create()?;
//! study.optimize(20, |trial| -> Result<f64, Box<dyn std::error::Error + Send + Sync>> {
//!     let lr = trial.suggest_float("lr", 1e-4, 1e-1).log()?;
//!     let mut trainer = Trainer::new(TrainConfig::new(10, 128, lr), Device::default())?
//!         .with_progress(false)
//!         .with_observer(PruneOnEpoch::valid_accuracy(trial.reporter()));
//!     let fitted = trainer.fit(&MlpConfig::new(784, 10), &train, Some(&valid))?;
//!     if trial.was_pruned() {
//!         return Err(trial.pruned().into());
//!     }
//!     Ok(fitted.history.last().and_then(|m| m.valid_accuracy).unwrap_or(0.0))
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use kiln_train::{Control, EpochMetrics, EpochObserver};
use kiln_tune::TrialReporter;

/// Reports `metric(epoch)` at step `epoch` and stops training when the pruner says so
/// (then [`Trial::was_pruned`](kiln_tune::Trial::was_pruned) is true).
pub struct PruneOnEpoch<F> {
    reporter: TrialReporter,
    metric: F,
}

impl<F: Fn(&EpochMetrics) -> Option<f64> + Send + Sync> PruneOnEpoch<F> {
    /// Reports the value `metric` picks from each epoch's metrics (epochs without one are
    /// skipped).
    pub fn new(reporter: TrialReporter, metric: F) -> Self {
        Self { reporter, metric }
    }
}

impl PruneOnEpoch<fn(&EpochMetrics) -> Option<f64>> {
    /// Reports the validation accuracy.
    pub fn valid_accuracy(reporter: TrialReporter) -> Self {
        Self::new(reporter, |m| m.valid_accuracy)
    }

    /// Reports the validation loss.
    pub fn valid_loss(reporter: TrialReporter) -> Self {
        Self::new(reporter, |m| m.valid_loss)
    }
}

impl<F: Fn(&EpochMetrics) -> Option<f64> + Send + Sync> EpochObserver for PruneOnEpoch<F> {
    fn on_epoch_end(&mut self, metrics: &EpochMetrics) -> Control {
        let Some(value) = (self.metric)(metrics) else {
            return Control::Continue;
        };
        // A storage error must not kill the training run: keep training unpruned.
        if self.reporter.report(metrics.epoch as u64, value).is_err() {
            return Control::Continue;
        }
        match self.reporter.should_prune() {
            Ok(true) => Control::Stop,
            _ => Control::Continue,
        }
    }
}
