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

#[cfg(test)]
mod tests {
    use burn::module::Module;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
    use burn::tensor::{Device, Distribution, Tensor};

    use super::FusedAdam;

    fn fused() -> ModuleOptimizer {
        ModuleOptimizer::from(FusedAdam {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
            weight_decay: 0.0,
        })
    }

    fn steps(
        mut optimizer: ModuleOptimizer,
        mut model: Linear,
        n: usize,
    ) -> (Linear, ModuleOptimizer) {
        let device = model.devices()[0].clone();
        for _ in 0..n {
            let x: Tensor<2> = Tensor::random([16, 40], Distribution::Default, &device);
            let loss = model.forward(x).powf_scalar(2.0).mean();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(1e-2, model, grads);
        }
        (model, optimizer)
    }

    fn weights(model: &Linear) -> Vec<f32> {
        model.weight.val().into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn fused_adam_follows_burns_adam_and_their_states_load_into_each_other() {
        let device = Device::flex().autodiff();
        device.seed(1);
        let model = LinearConfig::new(40, 30).init(&device);
        // Parameters initialise lazily: materialise them once, before the two copies.
        let _ = (weights(&model), model.bias.as_ref().map(|b| b.val()));
        let burn = AdamConfig::new().with_epsilon(1e-8).init();
        device.seed(2);
        let (ours, ours_optim) = steps(fused(), model.clone(), 3);
        device.seed(2);
        let (theirs, theirs_optim) = steps(burn, model, 3);
        for (a, b) in weights(&ours).iter().zip(weights(&theirs)) {
            assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
        }
        // Each optimizer's saved state resumes in the other.
        let dir = tempfile::tempdir().unwrap();
        let (ours_file, theirs_file) = (dir.path().join("ours.bpk"), dir.path().join("theirs.bpk"));
        ours_optim.save(&ours_file).unwrap();
        theirs_optim.save(&theirs_file).unwrap();
        let burn_resumed = AdamConfig::new()
            .with_epsilon(1e-8)
            .init()
            .load(&ours_file)
            .unwrap();
        let ours_resumed = fused().load(&theirs_file).unwrap();
        device.seed(3);
        let (a, _) = steps(burn_resumed, ours, 1);
        device.seed(3);
        let (b, _) = steps(ours_resumed, theirs, 1);
        for (a, b) in weights(&a).iter().zip(weights(&b)) {
            assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
        }
    }
}
