//! Classification data in the shape the trainer batches.

use burn::tensor::{Device, Int, Tensor, TensorData};
use kiln_data::{ImageSet, LabeledDataset, Matrix, MnistDataset, Normalize, Targets};

use crate::error::{Result, invalid};

/// Numeric features with one class per row, ready for batching.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassificationSet {
    features: Matrix,
    labels: Vec<u32>,
    n_classes: usize,
}

impl ClassificationSet {
    /// Finite features and class codes `< n_classes`, one per row.
    pub fn new(features: Matrix, labels: Vec<u32>, n_classes: usize) -> Result<Self> {
        if features.rows() != labels.len() {
            return Err(invalid(
                "labels",
                format!("{} labels for {} rows", labels.len(), features.rows()),
            ));
        }
        check_finite(&features)?;
        if let Some(row) = labels.iter().position(|&l| l as usize >= n_classes) {
            return Err(invalid(
                "labels",
                format!(
                    "label {} at row {row} but only {n_classes} classes",
                    labels[row]
                ),
            ));
        }
        Ok(Self {
            features,
            labels,
            n_classes,
        })
    }

    /// A classification view of a labelled dataset (regression targets are an error).
    pub fn from_labeled(dataset: &LabeledDataset) -> Result<Self> {
        match dataset.targets() {
            Targets::Classes { codes, names } => {
                Self::new(dataset.features().clone(), codes.clone(), names.len())
            }
            Targets::Values(_) => Err(invalid(
                "targets",
                "classification needs class targets, not real values",
            )),
        }
    }

    /// MNIST-style images as flat rows of pixels scaled to `[0, 1]`, ten classes.
    pub fn from_mnist(images: &MnistDataset) -> Result<Self> {
        Self::from_images(&ImageSet::from(images), &Normalize::Unit)
    }

    /// Images (IDX, CIFAR, an image folder) as flat channel-planar rows, normalized, one class
    /// per image: what `Cnn`, `ResidualCnn` and `Mlp` read.
    pub fn from_images(images: &ImageSet, normalize: &Normalize) -> Result<Self> {
        Self::new(
            images.features(normalize)?,
            images.labels().to_vec(),
            images.classes().len(),
        )
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Features per row.
    pub fn n_features(&self) -> usize {
        self.features.cols()
    }

    /// Classes.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// The class codes.
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// The features.
    pub fn features(&self) -> &Matrix {
        &self.features
    }

    /// The rows at `indices`, in that order (a split or a subset).
    pub fn take(&self, indices: &[usize]) -> Self {
        Self {
            features: self.features.take(indices),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            n_classes: self.n_classes,
        }
    }

    /// The rows at `indices` as a `[rows, features]` tensor and a `[rows]` label tensor.
    pub(crate) fn batch(&self, indices: &[usize], device: &Device) -> (Tensor<2>, Tensor<1, Int>) {
        (
            features_tensor(&self.features, indices, device),
            Tensor::from_data(
                TensorData::new(
                    indices
                        .iter()
                        .map(|&i| i64::from(self.labels[i]))
                        .collect::<Vec<_>>(),
                    [indices.len()],
                ),
                device,
            ),
        )
    }
}

/// Numeric features with one real-valued target per row, for regression.
#[derive(Debug, Clone, PartialEq)]
pub struct RegressionSet {
    features: Matrix,
    targets: Vec<f32>,
}

impl RegressionSet {
    /// Finite features and finite targets, one per row.
    pub fn new(features: Matrix, targets: Vec<f32>) -> Result<Self> {
        if features.rows() != targets.len() {
            return Err(invalid(
                "targets",
                format!("{} targets for {} rows", targets.len(), features.rows()),
            ));
        }
        check_finite(&features)?;
        if let Some(row) = targets.iter().position(|t| !t.is_finite()) {
            return Err(invalid(
                "targets",
                format!("row {row} is {}; drop or fix it first", targets[row]),
            ));
        }
        Ok(Self { features, targets })
    }

    /// A regression view of a labelled dataset (class targets are an error).
    pub fn from_labeled(dataset: &LabeledDataset) -> Result<Self> {
        match dataset.targets() {
            Targets::Values(values) => Self::new(dataset.features().clone(), values.clone()),
            Targets::Classes { .. } => Err(invalid(
                "targets",
                "regression needs real-valued targets, not classes",
            )),
        }
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Features per row.
    pub fn n_features(&self) -> usize {
        self.features.cols()
    }

    /// The targets.
    pub fn targets(&self) -> &[f32] {
        &self.targets
    }

    /// The features.
    pub fn features(&self) -> &Matrix {
        &self.features
    }

    /// The rows at `indices` as a `[rows, features]` tensor and a `[rows, 1]` target tensor.
    pub(crate) fn batch(&self, indices: &[usize], device: &Device) -> (Tensor<2>, Tensor<2>) {
        let targets: Vec<f32> = indices.iter().map(|&i| self.targets[i]).collect();
        (
            features_tensor(&self.features, indices, device),
            Tensor::from_data(TensorData::new(targets, [indices.len(), 1]), device),
        )
    }
}

/// An error naming the first non-finite feature.
fn check_finite(features: &Matrix) -> Result<()> {
    if let Some(i) = features.as_slice().iter().position(|x| !x.is_finite()) {
        let (row, col) = (i / features.cols().max(1), i % features.cols().max(1));
        return Err(invalid(
            "features",
            format!("row {row}, column {col} is not finite; fix or impute it first"),
        ));
    }
    Ok(())
}

/// The rows at `indices` of a matrix as a `[rows, cols]` tensor.
pub(crate) fn features_tensor(features: &Matrix, indices: &[usize], device: &Device) -> Tensor<2> {
    let mut data = Vec::with_capacity(indices.len() * features.cols());
    for &i in indices {
        data.extend_from_slice(features.row(i));
    }
    Tensor::from_data(
        TensorData::new(data, [indices.len(), features.cols()]),
        device,
    )
}
