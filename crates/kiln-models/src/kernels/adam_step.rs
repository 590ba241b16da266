//! The settings of one Adam step, shared by the fused kernel and burn-optim's `Adam` fallback.

/// Adam's settings for one step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep {
    /// Learning rate.
    pub lr: f64,
    /// First-moment decay.
    pub beta_1: f32,
    /// Second-moment decay.
    pub beta_2: f32,
    /// Added to the root of the second moment.
    pub epsilon: f32,
    /// L2 penalty added to the gradient (`0` for none).
    pub weight_decay: f32,
    /// The step number, from 1.
    pub time: usize,
}
