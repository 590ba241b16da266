//! Epoch events: how observers (early stopping, pruning, tracking) follow a run.

use serde::{Deserialize, Serialize};

/// The metrics of one finished epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Training accuracy over the epoch (measured while the weights changed).
    pub train_accuracy: f64,
    /// Validation loss, when validation data was given.
    pub valid_loss: Option<f64>,
    /// Validation accuracy, when validation data was given.
    pub valid_accuracy: Option<f64>,
    /// The learning rate of the epoch's last step.
    pub learning_rate: f64,
    /// Wall-clock seconds for the epoch.
    pub seconds: f64,
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
pub trait EpochObserver: Send {
    /// Called once per epoch, after validation.
    fn on_epoch_end(&mut self, metrics: &EpochMetrics) -> Control;
}

impl<F: FnMut(&EpochMetrics) -> Control + Send> EpochObserver for F {
    fn on_epoch_end(&mut self, metrics: &EpochMetrics) -> Control {
        self(metrics)
    }
}
