//! Kiln's training loop: fit, evaluate and apply models from `kiln-models` on data from
//! `kiln-data`, on any Burn device.
//!
//! - [`TrainConfig`] holds the settings (epochs, batch size, learning rate, optimizer, weight
//!   decay, gradient clipping, seed); [`Trainer`] runs them on a `Device`.
//! - [`ClassificationSet`] (feature rows and class codes, from a `LabeledDataset` or MNIST)
//!   and [`RegressionSet`] (feature rows and real targets) are the data.
//! - Any [`ModelConfig`] (every `kiln-models` config) can be fitted: the trainer builds and
//!   seeds the model from it.
//! - [`EarlyStopping`] stops on a stalled validation metric and restores the best weights.
//! - [`EpochObserver`]s receive each epoch's [`EpochMetrics`] and may stop the run: the hook
//!   for early stopping, pruning and tracking.
//!
//! [`Trainer::with_checkpoints`] writes model, optimizer and run state every few epochs;
//! [`Trainer::resume`] continues a killed run to the same final metrics.
//!
//! A NaN or infinite loss stops training with an error naming the epoch and batch.
//!
//! [`try_device`] runs one tensor on a device first, so a backend without its GPU, driver or
//! libraries is a [`DeviceFailure`] rather than a panic in the middle of a run.
//!
//! - [`ConfusionMatrix`] gives accuracy and macro precision/recall/F1, [`top_k_accuracy`]
//!   the top-k hit rate; [`RegressionMetrics`] gives MSE, MAE and R².
//! - A [`Bundle`] saves a trained model with its configs, fitted target, preprocessing,
//!   profile, metrics and lineage (format: `kiln_data::bundle`), and loads it back;
//!   [`Predictions`] decode its outputs into class names and probabilities, or values.
//!
//! ```no_run
//! use burn::tensor::Device;
//! use kiln_data::{datasets::Split, datasets};
//! use kiln_models::MlpConfig;
//! use kiln_train::{ClassificationSet, TrainConfig, Trainer};
//!
//! let train = ClassificationSet::from_mnist(&datasets::mnist(Split::Train)?)?;
//! let test = ClassificationSet::from_mnist(&datasets::mnist(Split::Test)?)?;
//! let mut trainer = Trainer::new(TrainConfig::new(5, 128, 1e-3), Device::default())?;
//! let fitted = trainer.fit(&MlpConfig::new(784, 10), &train, Some(&test))?;
//! println!("test accuracy {:.4}", trainer.evaluate(&fitted.model, &test)?.accuracy);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bundle;
mod checkpoint;
mod config;
mod data;
mod device;
mod early_stopping;
mod error;
mod events;
mod fused_adam;
mod metrics;
mod model;
mod predictions;
mod task;
mod trainer;

pub use bundle::{Bundle, BundledModel};
pub use config::{LrSchedule, OptimizerKind, TrainConfig};
pub use data::{ClassificationSet, RegressionSet};
pub use device::{DeviceFailure, try_device};
pub use early_stopping::{EarlyStopping, EarlyStoppingMetric};
pub use error::{Result, TrainError};
pub use events::{Control, EpochMetrics, EpochObserver};
pub use metrics::{ConfusionMatrix, RegressionMetrics, top_k_accuracy};
pub use model::{Model, ModelConfig};
pub use predictions::Predictions;
pub use task::Supervised;
pub use trainer::{Evaluation, Fitted, Trainer};
