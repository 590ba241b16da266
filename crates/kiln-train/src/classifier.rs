//! The models the trainer can fit: anything that maps feature rows to class logits.

use burn::module::Module;
use burn::tensor::Tensor;
use kiln_models::{Cnn, LinearModel, Mlp};

/// A classifier over flat feature rows: `[batch, features]` → `[batch, classes]` logits.
pub trait Classifier: Module + 'static {
    /// Class logits for a batch of feature rows.
    fn logits(&self, features: Tensor<2>) -> Tensor<2>;
}

impl Classifier for LinearModel {
    fn logits(&self, features: Tensor<2>) -> Tensor<2> {
        self.forward(features)
    }
}

impl Classifier for Mlp {
    fn logits(&self, features: Tensor<2>) -> Tensor<2> {
        self.forward(features)
    }
}

impl Classifier for Cnn {
    /// Rows are images flattened channel-major, as [`Cnn::forward_flat`] expects.
    fn logits(&self, features: Tensor<2>) -> Tensor<2> {
        self.forward_flat(features)
    }
}
