//! Shapes, parameter counts, config round trips and config errors, on Burn's flex backend.

use burn::module::Module;
use burn::nn::activation::ActivationConfig;
use burn::tensor::{Device, Int, Tensor, TensorData};
use kiln_models::{
    CnnConfig, LinearModelConfig, MlpConfig, ModelError, Norm, ResidualCnnConfig,
    TextClassifierConfig, TextEncoder,
};

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

#[test]
fn residual_cnn_takes_28_and_32_pixel_images() {
    // stem 1→4 (36 + bn 16), block 4→4 (2·144 + 2·16), block 4→8 stride 2 with projection
    // (288 + 32 + 576 + 32 + 32 + 32), fc 8→3 (27); Burn counts batch norm's running stats.
    let small = ResidualCnnConfig::new(3)
        .with_widths(vec![4, 8])
        .init(&device())
        .unwrap();
    assert_eq!(small.num_params(), 36 + 16 + 320 + 992 + 27);
    let mnist = ResidualCnnConfig::new(10).init(&device()).unwrap();
    assert_eq!(
        mnist
            .forward(Tensor::ones([2, 1, 28, 28], &device()))
            .dims(),
        [2, 10]
    );
    assert_eq!(
        mnist.forward_flat(Tensor::ones([2, 784], &device())).dims(),
        [2, 10]
    );
    let cifar = ResidualCnnConfig::new(10)
        .with_in_channels(3)
        .with_image_size([32, 32])
        .with_blocks_per_stage(2)
        .init(&device())
        .unwrap();
    assert_eq!(
        cifar
            .forward(Tensor::ones([2, 3, 32, 32], &device()))
            .dims(),
        [2, 10]
    );
    let err = ResidualCnnConfig::new(10)
        .with_widths(vec![])
        .init(&device())
        .unwrap_err();
    assert!(err.to_string().contains("widths"), "{err}");
}

fn ids(rows: &[&[i64]]) -> Tensor<2, Int> {
    let len = rows[0].len();
    let data: Vec<i64> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_data(TensorData::new(data, [rows.len(), len]), &device())
}

#[test]
fn text_classifiers_ignore_padding() {
    for encoder in [TextEncoder::EmbeddingBag, TextEncoder::Transformer] {
        let model = TextClassifierConfig::new(20, 3)
            .with_encoder(encoder)
            .with_embedding_dim(8)
            .with_n_heads(2)
            .with_d_ff(16)
            .with_max_len(6)
            .init(&device())
            .unwrap();
        let short = model.forward(ids(&[&[5, 7, 9], &[3, 0, 0]]));
        let padded = model.forward(ids(&[&[5, 7, 9, 0, 0, 0], &[3, 0, 0, 0, 0, 0]]));
        assert_eq!(short.dims(), [2, 3]);
        let short: Vec<f32> = short.into_data().try_to_vec().unwrap();
        let padded: Vec<f32> = padded.into_data().try_to_vec().unwrap();
        for (a, b) in short.iter().zip(&padded) {
            assert!((a - b).abs() < 1e-5, "{encoder:?}: {short:?} vs {padded:?}");
        }
        // Tokens past max_len are cut, not an out-of-range position.
        let long = model.forward(ids(&[&[5, 7, 9, 1, 2, 3, 4, 5, 6]]));
        assert_eq!(long.dims(), [1, 3]);
        let flat = model.forward_flat(Tensor::from_data(
            TensorData::new(vec![5.0f32, 7.0, 9.0], [1, 3]),
            &device(),
        ));
        let first: Vec<f32> = flat.into_data().try_to_vec().unwrap();
        assert!((first[0] - short[0]).abs() < 1e-5, "{encoder:?}");
    }
    let err = TextClassifierConfig::new(20, 3)
        .with_encoder(TextEncoder::Transformer)
        .with_embedding_dim(10)
        .with_n_heads(4)
        .init(&device())
        .unwrap_err();
    assert!(err.to_string().contains("n_heads"), "{err}");
    let json = TextClassifierConfig::new(20, 3)
        .with_encoder(TextEncoder::Transformer)
        .to_string();
    let back: TextClassifierConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back.encoder, TextEncoder::Transformer);
}
