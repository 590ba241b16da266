//! Adam as one fused pass per parameter on Kiln's CPU kernels ([`kiln_models::adam_step`]),
//! with Burn's Adam state type, so checkpoints written with either optimizer load with the
//! other. On devices without Kiln's kernels the step is Burn's tensor arithmetic.

use burn::optim::{AdamState, AdaptiveMomentumState, LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};
use kiln_models::{AdamStep, adam_step};

/// Adam (β₁ 0.9, β₂ 0.999), with optional L2 weight decay added to the gradient.
#[derive(Clone, Debug)]
pub(crate) struct FusedAdam {
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
    pub weight_decay: f32,
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let (time, moments) = match state {
            Some(AdamState { momentum }) => (
                momentum.time + 1,
                Some((momentum.moment_1, momentum.moment_2)),
            ),
            None => (1, None),
        };
        let step = AdamStep {
            lr,
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
            weight_decay: self.weight_decay,
            time,
        };
        let (tensor, moment_1, moment_2) = adam_step(tensor, grad, moments, step);
        let momentum = AdaptiveMomentumState::new(time, moment_1, moment_2);
        (tensor, Some(AdamState::new(momentum)))
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.momentum = state.momentum.to_device(device);
        state
    }
}
