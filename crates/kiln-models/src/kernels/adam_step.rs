//! The settings of one Adam step, shared by the fused kernel and the tensor-op fallback.

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

impl AdamStep {
    /// `(combined factor, epsilon term)`: `m · a / (√v + b)` is the step direction.
    pub(crate) fn factors(&self) -> (f32, f32) {
        let t = self.time as i32;
        let bias_correction2_sqrt = (1.0 - self.beta_2.powi(t)).sqrt();
        let combined = bias_correction2_sqrt / (1.0 - self.beta_1.powi(t));
        (combined, self.epsilon * bias_correction2_sqrt)
    }
}
