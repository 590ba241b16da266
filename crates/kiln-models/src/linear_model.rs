//! Linear models: logistic regression (binary or multiclass) and linear regression.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use crate::error::{Result, positive};
use crate::kernels::linear_layer;

/// A single affine layer. With `n_outputs` classes and a cross-entropy loss it is logistic
/// regression (two outputs for a binary task); with one output and a squared loss it is
/// linear regression.
#[derive(Config, Debug)]
pub struct LinearModelConfig {
    /// Input features.
    pub n_features: usize,
    /// Outputs: classes for classification, 1 for regression.
    pub n_outputs: usize,
}

impl LinearModelConfig {
    /// Checks the sizes and builds the model on `device`.
    pub fn init(&self, device: &Device) -> Result<LinearModel> {
        positive("n_features", self.n_features)?;
        positive("n_outputs", self.n_outputs)?;
        Ok(LinearModel {
            linear: LinearConfig::new(self.n_features, self.n_outputs).init(device),
        })
    }
}

/// See [`LinearModelConfig`].
#[derive(Module, Debug)]
pub struct LinearModel {
    linear: Linear,
}

impl LinearModel {
    /// `[batch, n_features]` → `[batch, n_outputs]` (logits or predictions).
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        linear_layer(&self.linear, x)
    }
}
