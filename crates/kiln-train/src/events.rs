//! Epoch events: how observers (early stopping, pruning, tracking) follow a run.

use serde::{Deserialize, Serialize};

/// The metrics of one finished epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Training accuracy over the epoch (measured while the weights changed); classification
    /// only.
    pub train_accuracy: Option<f64>,
    /// Validation loss (cross-entropy, or mean squared error for regression), when validation
    /// data was given.
    pub valid_loss: Option<f64>,
    /// Validation accuracy, for classification with validation data.
    pub valid_accuracy: Option<f64>,
    /// Validation R², for regression with validation data.
    pub valid_r2: Option<f64>,
    /// The learning rate of the epoch's last step.
    pub learning_rate: f64,
    /// Wall-clock seconds for the epoch.
    pub seconds: f64,
}

impl EpochMetrics {
    /// The metrics that are present, by name (`train_loss`, `train_accuracy`, `valid_loss`,
    /// `valid_accuracy`, `valid_r2`, `learning_rate`, `epoch_seconds`): what a tracker logs.
    pub fn values(&self) -> Vec<(&'static str, f64)> {
        [
            ("train_loss", Some(self.train_loss)),
            ("train_accuracy", self.train_accuracy),
            ("valid_loss", self.valid_loss),
            ("valid_accuracy", self.valid_accuracy),
            ("valid_r2", self.valid_r2),
            ("learning_rate", Some(self.learning_rate)),
            ("epoch_seconds", Some(self.seconds)),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect()
    }
}

/// What an observer tells the trainer after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Keep training.
    Continue,
    /// Stop after this epoch (early stopping, a pruned trial).
    Stop,
}

/// Receives every epoch's metrics; the trainer stops when any observer says [`Control::Stop`].
pub trait EpochObserver: Send + Sync {
    /// Called once per epoch, after validation.
    fn on_epoch_end(&mut self, metrics: &EpochMetrics) -> Control;
}

impl<F: FnMut(&EpochMetrics) -> Control + Send + Sync> EpochObserver for F {
    fn on_epoch_end(&mut self, metrics: &EpochMetrics) -> Control {
        self(metrics)
    }
}

impl EpochObserver for Box<dyn EpochObserver> {
    fn on_epoch_end(&mut self, metrics: &EpochMetrics) -> Control {
        (**self).on_epoch_end(metrics)
    }
}
