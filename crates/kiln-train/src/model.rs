//! The models the trainer can fit: anything that maps feature rows to outputs.

use burn::module::Module;
use burn::tensor::Tensor;
use kiln_models::{Cnn, LinearModel, Mlp, ResidualCnn, TextClassifier};

/// A model over flat feature rows: `[batch, features]` → `[batch, outputs]`, class logits for
/// classification or predicted values for regression.
pub trait Model: Module + 'static {
    /// Outputs for a batch of feature rows.
    fn forward_rows(&self, features: Tensor<2>) -> Tensor<2>;
}

impl Model for LinearModel {
    fn forward_rows(&self, features: Tensor<2>) -> Tensor<2> {
        self.forward(features)
    }
}

impl Model for Mlp {
    fn forward_rows(&self, features: Tensor<2>) -> Tensor<2> {
        self.forward(features)
    }
}

impl Model for Cnn {
    /// Rows are images flattened channel-major, as [`Cnn::forward_flat`] expects.
    fn forward_rows(&self, features: Tensor<2>) -> Tensor<2> {
        self.forward_flat(features)
    }
}

impl Model for ResidualCnn {
    /// Rows are images flattened channel-major, as [`ResidualCnn::forward_flat`] expects.
    fn forward_rows(&self, features: Tensor<2>) -> Tensor<2> {
        self.forward_flat(features)
    }
}

impl Model for TextClassifier {
    /// Rows are token ids stored as floats (`Vectorizer::token_ids`).
    fn forward_rows(&self, features: Tensor<2>) -> Tensor<2> {
        self.forward_flat(features)
    }
}
