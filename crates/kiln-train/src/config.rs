//! Training settings.

use burn::optim::decay::WeightDecayConfig;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::optim::lr_scheduler::step::StepLrSchedulerConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamWConfig, ModuleOptimizer, SgdConfig};

use crate::fused_adam::FusedAdam;
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

/// How the learning rate changes over a run (Burn's schedulers, stepped once per batch).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LrSchedule {
    /// The learning rate throughout.
    Constant,
    /// Cosine annealing from the learning rate down to `min_lr` over the whole run.
    Cosine {
        /// The final learning rate.
        min_lr: f64,
    },
    /// Multiply the learning rate by `gamma` every `every_epochs` epochs.
    Step {
        /// Epochs between decays.
        every_epochs: usize,
        /// The decay factor.
        gamma: f64,
    },
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
    /// How the learning rate changes over the run.
    pub lr_schedule: LrSchedule,
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
            lr_schedule: LrSchedule::Constant,
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

    /// Sets the learning-rate schedule.
    pub fn with_lr_schedule(mut self, schedule: LrSchedule) -> Self {
        self.lr_schedule = schedule;
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
        match self.lr_schedule {
            LrSchedule::Constant => {}
            LrSchedule::Cosine { min_lr } => {
                if self.learning_rate > 1.0 {
                    return Err(invalid(
                        "learning_rate",
                        "Burn's cosine schedule needs a learning rate of at most 1",
                    ));
                }
                if !(0.0..=self.learning_rate).contains(&min_lr) {
                    return Err(invalid(
                        "lr_schedule.min_lr",
                        format!("{min_lr} is not in [0, learning_rate]"),
                    ));
                }
            }
            LrSchedule::Step {
                every_epochs,
                gamma,
            } => {
                if every_epochs == 0 {
                    return Err(invalid("lr_schedule.every_epochs", "must be at least 1"));
                }
                if !(gamma > 0.0 && gamma <= 1.0) {
                    return Err(invalid(
                        "lr_schedule.gamma",
                        format!("{gamma} is not in (0, 1]"),
                    ));
                }
            }
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

    /// Burn's scheduler for a run of `batches` steps per epoch (`None` for a constant rate).
    pub(crate) fn build_scheduler(&self, batches: usize) -> Result<Option<ModuleLrScheduler>> {
        let scheduler = match self.lr_schedule {
            LrSchedule::Constant => return Ok(None),
            LrSchedule::Cosine { min_lr } => {
                CosineAnnealingLrSchedulerConfig::new(self.learning_rate, self.epochs * batches)
                    .with_min_lr(min_lr)
                    .init()
            }
            LrSchedule::Step {
                every_epochs,
                gamma,
            } => StepLrSchedulerConfig::new(self.learning_rate, every_epochs * batches)
                .with_gamma(gamma)
                .init(),
        };
        scheduler
            .map(Some)
            .map_err(|reason| invalid("lr_schedule", reason))
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
            OptimizerKind::Adam => {
                // Burn's Adam arithmetic in one fused pass per parameter (Kiln's kernels on
                // flex; Burn's tensor ops elsewhere); the state is Burn's `AdamState`.
                let adam = FusedAdam {
                    beta_1: 0.9,
                    beta_2: 0.999,
                    epsilon: 1e-8,
                    weight_decay: self.weight_decay as f32,
                };
                let optimizer = ModuleOptimizer::from(adam);
                match clip {
                    Some(clip) => optimizer.with_grad_clipping(clip.init()),
                    None => optimizer,
                }
            }
            OptimizerKind::AdamW => AdamWConfig::new()
                .with_epsilon(1e-8)
                .with_weight_decay(self.weight_decay as f32)
                .with_grad_clipping(clip)
                .init(),
        }
    }
}
