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
}

macro_rules! model {
    ($model:ty, $config:ty, $kind:literal, $forward:ident) => {
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
        }
    };
}

model!(LinearModel, LinearModelConfig, "linear", forward);
model!(Mlp, MlpConfig, "mlp", forward);
// Rows are images flattened channel-major, as `Cnn::forward_flat` expects.
model!(Cnn, CnnConfig, "cnn", forward_flat);
model!(ResidualCnn, ResidualCnnConfig, "residual_cnn", forward_flat);
// Rows are token ids stored as floats (`Vectorizer::token_ids`).
model!(
    TextClassifier,
    TextClassifierConfig,
    "text_classifier",
    forward_flat
);
