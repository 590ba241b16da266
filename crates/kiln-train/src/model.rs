//! The models the trainer can fit: anything that maps feature rows to outputs, built from a
//! serde config.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use kiln_models::{
    Cnn, CnnConfig, LinearModel, LinearModelConfig, Mlp, MlpConfig, ResidualCnn, ResidualCnnConfig,
    TextClassifier, TextClassifierConfig,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A model over flat feature rows: `[batch, features]` → `[batch, outputs]`, class logits for
/// classification or predicted values for regression.
pub trait Model: Module + 'static {
    /// Outputs for a batch of feature rows.
    fn forward_rows(&self, features: Tensor<2>) -> Tensor<2>;
}

/// A model's serde configuration, from which the trainer builds (and seeds) the model and a
/// bundle rebuilds it.
pub trait ModelConfig:
    Serialize + DeserializeOwned + Clone + std::fmt::Debug + Send + Sync
{
    /// The model it builds.
    type Model: Model;
    /// The name a bundle's manifest records (`mlp`, `cnn`, …).
    const KIND: &'static str;
    /// Builds an untrained model on `device` (Burn's generator draws its weights).
    fn init(&self, device: &Device) -> kiln_models::Result<Self::Model>;
    /// The features per row the model reads (`None`: any width, as token ids are cut or
    /// padded to the model's length).
    fn input_width(&self) -> Option<usize>;
}

macro_rules! model {
    ($model:ty, $config:ty, $kind:literal, $forward:ident, |$c:ident| $width:expr) => {
        impl Model for $model {
            fn forward_rows(&self, features: Tensor<2>) -> Tensor<2> {
                self.$forward(features)
            }
        }

        impl ModelConfig for $config {
            type Model = $model;
            const KIND: &'static str = $kind;
            fn init(&self, device: &Device) -> kiln_models::Result<$model> {
                <$config>::init(self, device)
            }
            fn input_width(&self) -> Option<usize> {
                let $c = self;
                $width
            }
        }
    };
}

model!(LinearModel, LinearModelConfig, "linear", forward, |c| Some(
    c.n_features
));
model!(Mlp, MlpConfig, "mlp", forward, |c| Some(c.n_features));
// Rows are images flattened channel-major, as `Cnn::forward_flat` expects.
model!(Cnn, CnnConfig, "cnn", forward_flat, |c| Some(
    c.in_channels * c.image_size[0] * c.image_size[1]
));
model!(
    ResidualCnn,
    ResidualCnnConfig,
    "residual_cnn",
    forward_flat,
    |c| Some(c.in_channels * c.image_size[0] * c.image_size[1])
);
// Rows are token ids stored as floats (`Vectorizer::token_ids`).
model!(
    TextClassifier,
    TextClassifierConfig,
    "text_classifier",
    forward_flat,
    |_c| None
);
