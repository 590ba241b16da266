//! Multi-layer perceptrons.

use burn::config::Config;
use burn::module::Module;
use burn::nn::activation::{Activation, ActivationConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear,
    LinearConfig,
};
use burn::tensor::{Device, Tensor};

use crate::error::{Result, positive, probability};
use crate::kernels::linear_layer;

/// Normalization after each hidden layer.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Norm {
    /// None.
    None,
    /// Batch normalization.
    Batch,
    /// Layer normalization.
    Layer,
}

/// A multi-layer perceptron: `hidden` layers of `Linear → [norm] → activation → dropout`,
/// then a linear output layer.
#[derive(Config, Debug)]
pub struct MlpConfig {
    /// Input features.
    pub n_features: usize,
    /// Outputs: classes for classification, targets for regression.
    pub n_outputs: usize,
    /// Hidden layer widths, first to last.
    #[config(default = "vec![512, 256]")]
    pub hidden: Vec<usize>,
    /// Activation after each hidden layer.
    #[config(default = "ActivationConfig::Relu")]
    pub activation: ActivationConfig,
    /// Dropout probability after each hidden layer.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Normalization after each hidden layer.
    #[config(default = "Norm::None")]
    pub norm: Norm,
}

impl MlpConfig {
    /// Checks the configuration and builds the model on `device`.
    pub fn init(&self, device: &Device) -> Result<Mlp> {
        positive("n_features", self.n_features)?;
        positive("n_outputs", self.n_outputs)?;
        for (i, &width) in self.hidden.iter().enumerate() {
            positive(&format!("hidden[{i}]"), width)?;
        }
        probability("dropout", self.dropout)?;
        let mut layers = Vec::with_capacity(self.hidden.len());
        let mut norms = Vec::new();
        let mut width = self.n_features;
        for &next in &self.hidden {
            layers.push(LinearConfig::new(width, next).init(device));
            match self.norm {
                Norm::None => {}
                Norm::Batch => {
                    norms.push(HiddenNorm::Batch(BatchNormConfig::new(next).init(device)))
                }
                Norm::Layer => {
                    norms.push(HiddenNorm::Layer(LayerNormConfig::new(next).init(device)))
                }
            }
            width = next;
        }
        Ok(Mlp {
            layers,
            norms,
            activation: self.activation.init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            output: LinearConfig::new(width, self.n_outputs).init(device),
        })
    }
}

/// The normalization layer of one hidden layer.
#[derive(Module, Debug)]
enum HiddenNorm {
    Batch(BatchNorm),
    Layer(LayerNorm),
}

/// See [`MlpConfig`].
#[derive(Module, Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
    norms: Vec<HiddenNorm>,
    activation: Activation,
    dropout: Dropout,
    output: Linear,
}

impl Mlp {
    /// `[batch, n_features]` → `[batch, n_outputs]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut x = x;
        for (i, layer) in self.layers.iter().enumerate() {
            x = linear_layer(layer, x);
            x = match self.norms.get(i) {
                Some(HiddenNorm::Batch(norm)) => norm.forward(x),
                Some(HiddenNorm::Layer(norm)) => norm.forward(x),
                None => x,
            };
            x = self.dropout.forward(self.activation.forward(x));
        }
        linear_layer(&self.output, x)
    }
}
