//! Training settings.

use burn::optim::decay::WeightDecayConfig;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, ModuleOptimizer, SgdConfig};
use serde::{Deserialize, Serialize};

use crate::error::{Result, invalid};

/// Which of Burn's optimizers to use.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Stochastic gradient descent with (optional) momentum.
    Sgd {
        /// Momentum factor; 0 disables momentum.
        momentum: f64,
    },
    /// Adam.
    Adam,
    /// Adam with decoupled weight decay.
    AdamW,
}

/// Everything about a training run except the model and the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Passes over the training data.
    pub epochs: usize,
    /// Examples per gradient step.
    pub batch_size: usize,
    /// Step size.
    pub learning_rate: f64,
    /// The optimizer.
    pub optimizer: OptimizerKind,
    /// L2 penalty (SGD, Adam) or decoupled decay (AdamW); 0 disables it.
    pub weight_decay: f64,
    /// Clip the gradient norm to this value.
    pub grad_clip_norm: Option<f32>,
    /// Seed for weight initialization and shuffling.
    pub seed: u64,
}

impl TrainConfig {
    /// `epochs` passes of `batch_size` with Adam at `learning_rate`, seed 0.
    pub fn new(epochs: usize, batch_size: usize, learning_rate: f64) -> Self {
        Self {
            epochs,
            batch_size,
            learning_rate,
            optimizer: OptimizerKind::Adam,
            weight_decay: 0.0,
            grad_clip_norm: None,
            seed: 0,
        }
    }

    /// Sets the optimizer.
    pub fn with_optimizer(mut self, optimizer: OptimizerKind) -> Self {
        self.optimizer = optimizer;
        self
    }

    /// Sets the weight decay.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Clips the gradient norm.
    pub fn with_grad_clip_norm(mut self, norm: f32) -> Self {
        self.grad_clip_norm = Some(norm);
        self
    }

    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(invalid("epochs", "must be at least 1"));
        }
        if self.batch_size == 0 {
            return Err(invalid("batch_size", "must be at least 1"));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(invalid(
                "learning_rate",
                format!("{} must be positive and finite", self.learning_rate),
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(invalid(
                "weight_decay",
                format!("{} must be ≥ 0", self.weight_decay),
            ));
        }
        if let OptimizerKind::Sgd { momentum } = self.optimizer
            && !(0.0..1.0).contains(&momentum)
        {
            return Err(invalid(
                "optimizer.momentum",
                format!("{momentum} is not in [0, 1)"),
            ));
        }
        if let Some(norm) = self.grad_clip_norm
            && !(norm.is_finite() && norm > 0.0)
        {
            return Err(invalid(
                "grad_clip_norm",
                format!("{norm} must be positive"),
            ));
        }
        Ok(())
    }

    /// Burn's optimizer for these settings (Adam's epsilon is PyTorch's 1e-8).
    pub(crate) fn build_optimizer(&self) -> ModuleOptimizer {
        let decay =
            (self.weight_decay > 0.0).then(|| WeightDecayConfig::new(self.weight_decay as f32));
        let clip = self.grad_clip_norm.map(GradientClippingConfig::Norm);
        match self.optimizer {
            OptimizerKind::Sgd { momentum } => SgdConfig::new()
                .with_weight_decay(decay)
                .with_momentum((momentum > 0.0).then(|| {
                    MomentumConfig::new()
                        .with_momentum(momentum)
                        .with_dampening(0.0)
                }))
                .with_gradient_clipping(clip)
                .init(),
            OptimizerKind::Adam => AdamConfig::new()
                .with_epsilon(1e-8)
                .with_weight_decay(decay)
                .with_grad_clipping(clip)
                .init(),
            OptimizerKind::AdamW => AdamWConfig::new()
                .with_epsilon(1e-8)
                .with_weight_decay(self.weight_decay as f32)
                .with_grad_clipping(clip)
                .init(),
        }
    }
}
