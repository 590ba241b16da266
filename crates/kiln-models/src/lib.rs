//! Kiln's model definitions: Burn modules, each built from a serde config whose fields are the
//! hyperparameters worth tuning. `XxxConfig::init(&device)` checks the configuration and
//! returns the module, or an error naming the bad field.
//!
//! - [`LinearModelConfig`] → [`LinearModel`]: logistic or linear regression.
//! - [`MlpConfig`] → [`Mlp`]: hidden widths, activation, dropout, optional batch/layer norm.
//! - [`CnnConfig`] → [`Cnn`]: LeNet-style convolution stages for small images.
//!
//! - [`ResidualCnnConfig`] → [`ResidualCnn`]: a small ResNet for 28×28 and 32×32 images.
//! - [`TextClassifierConfig`] → [`TextClassifier`]: token ids into an embedding bag or a small
//!   transformer encoder, then an MLP head.
//!
//! The models convolve, pool and multiply through [`conv2d`], [`max_pool2d`] and [`linear`]:
//! Kiln's own multi-threaded CPU kernels on Burn's `flex` device (a Burn backend extension,
//! `KilnOps`, with the `flex` feature), Burn's ops on every other device. [`adam_step`] is the
//! trainer's fused Adam update. `RAYON_NUM_THREADS` limits the kernels' threads.
//!
//! ```no_run
//! use burn::tensor::{Device, Tensor};
//! use kiln_models::MlpConfig;
//!
//! let device = Device::default();
//! let mlp = MlpConfig::new(784, 10).with_hidden(vec![512, 256]).init(&device)?;
//! let logits = mlp.forward(Tensor::zeros([32, 784], &device));
//! assert_eq!(logits.dims(), [32, 10]);
//! # Ok::<(), kiln_models::ModelError>(())
//! ```

mod cnn;
mod error;
mod kernels;
mod linear_model;
mod mlp;
mod resnet;
mod text;

pub use cnn::{Cnn, CnnConfig};
pub use error::{ModelError, Result};
#[cfg(feature = "flex")]
pub use kernels::KilnOps;
pub use kernels::{
    AdamStep, adam_step, batch_norm_layer, conv2d, conv2d_layer, keep_freed_memory, kernels_active,
    linear, linear_layer, max_pool2d, max_pool2d_layer,
};
pub use linear_model::{LinearModel, LinearModelConfig};
pub use mlp::{Mlp, MlpConfig, Norm};
pub use resnet::{ResidualCnn, ResidualCnnConfig};
pub use text::{TextClassifier, TextClassifierConfig, TextEncoder};
