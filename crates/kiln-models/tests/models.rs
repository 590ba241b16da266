//! Shapes, parameter counts, config round trips and config errors, on Burn's flex backend.

use burn::module::Module;
use burn::nn::activation::ActivationConfig;
use burn::tensor::{Device, Tensor};
use kiln_models::{CnnConfig, LinearModelConfig, MlpConfig, ModelError, Norm};

fn device() -> Device {
    Device::flex()
}

#[test]
fn linear_model_shapes_and_parameters() {
    let model = LinearModelConfig::new(4, 3).init(&device()).unwrap();
    assert_eq!(model.num_params(), 4 * 3 + 3);
    let out = model.forward(Tensor::zeros([5, 4], &device()));
    assert_eq!(out.dims(), [5, 3]);
}

#[test]
fn benchmark_mlp_has_the_published_parameter_count() {
    // 784-512-256-10: (784·512 + 512) + (512·256 + 256) + (256·10 + 10) = 535,818,
    // the count PERF-BASELINE.md's FLOP estimate uses.
    let mlp = MlpConfig::new(784, 10).init(&device()).unwrap();
    assert_eq!(mlp.num_params(), 535_818);
    let out = mlp.forward(Tensor::ones([8, 784], &device()));
    assert_eq!(out.dims(), [8, 10]);
}

#[test]
fn mlp_norms_and_activations() {
    for norm in [Norm::None, Norm::Batch, Norm::Layer] {
        let mlp = MlpConfig::new(6, 2)
            .with_hidden(vec![5, 4])
            .with_norm(norm)
            .with_activation(ActivationConfig::Gelu)
            .with_dropout(0.25)
            .init(&device())
            .unwrap();
        let out = mlp.forward(Tensor::ones([3, 6], &device()));
        assert_eq!(out.dims(), [3, 2], "{norm:?}");
        // Per hidden unit, layer norm adds a scale and a shift; batch norm also keeps a
        // running mean and variance, which Burn counts as parameters.
        let base = 6 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2;
        let extra = match norm {
            Norm::None => 0,
            Norm::Batch => 4 * (5 + 4),
            Norm::Layer => 2 * (5 + 4),
        };
        assert_eq!(mlp.num_params(), base + extra, "{norm:?}");
    }
}

#[test]
fn benchmark_cnn_matches_the_issue_shapes() {
    // conv 1→32 3×3 (320) + conv 32→64 3×3 (18,496) + fc 1600→128 (204,928) + fc 128→10 (1,290)
    let config = CnnConfig::new(10);
    assert_eq!(config.feature_shape().unwrap(), [64, 5, 5]);
    let cnn = config.init(&device()).unwrap();
    assert_eq!(cnn.num_params(), 320 + 18_496 + 204_928 + 1_290);
    let out = cnn.forward(Tensor::zeros([2, 1, 28, 28], &device()));
    assert_eq!(out.dims(), [2, 10]);
    let rgb = CnnConfig::new(4)
        .with_in_channels(3)
        .with_image_size([32, 32])
        .init(&device())
        .unwrap();
    assert_eq!(
        rgb.forward(Tensor::zeros([1, 3, 32, 32], &device())).dims(),
        [1, 4]
    );
}

#[test]
fn configs_round_trip_through_json() {
    let config = MlpConfig::new(10, 3)
        .with_hidden(vec![7])
        .with_dropout(0.1)
        .with_norm(Norm::Layer);
    let json = serde_json::to_string(&config).unwrap();
    let back: MlpConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back.hidden, [7]);
    assert_eq!(back.norm, Norm::Layer);
    assert_eq!(back.to_string(), config.to_string());
}

#[test]
fn invalid_configs_name_the_field() {
    let field = |e: ModelError| match e {
        ModelError::InvalidConfig { field, .. } => field,
        other => panic!("unexpected {other}"),
    };
    let d = device();
    assert_eq!(
        field(MlpConfig::new(0, 2).init(&d).unwrap_err()),
        "n_features"
    );
    assert_eq!(
        field(
            MlpConfig::new(3, 2)
                .with_hidden(vec![4, 0])
                .init(&d)
                .unwrap_err()
        ),
        "hidden[1]"
    );
    assert_eq!(
        field(MlpConfig::new(3, 2).with_dropout(1.0).init(&d).unwrap_err()),
        "dropout"
    );
    assert_eq!(
        field(LinearModelConfig::new(3, 0).init(&d).unwrap_err()),
        "n_outputs"
    );
    let err = CnnConfig::new(10)
        .with_image_size([8, 8])
        .with_channels(vec![16, 32, 64])
        .init(&d)
        .unwrap_err();
    assert!(err.to_string().contains("image_size"), "{err}");
}
