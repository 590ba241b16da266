//! Labelled data: feature rows with one target each ([`LabeledDataset`]), a Burn `Dataset`.

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::matrix::Matrix;

/// Targets of a labelled dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Targets {
    /// Class codes with the class names.
    Classes {
        /// One code per row.
        codes: Vec<u32>,
        /// Names indexed by code.
        names: Vec<String>,
    },
    /// Real values (regression).
    Values(Vec<f32>),
}

impl Targets {
    /// The number of rows.
    pub fn len(&self) -> usize {
        match self {
            Self::Classes { codes, .. } => codes.len(),
            Self::Values(v) => v.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn take(&self, indices: &[usize]) -> Self {
        match self {
            Self::Classes { codes, names } => Self::Classes {
                codes: indices.iter().map(|&i| codes[i]).collect(),
                names: names.clone(),
            },
            Self::Values(v) => Self::Values(indices.iter().map(|&i| v[i]).collect()),
        }
    }
}

/// The target of one row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Target {
    /// A class code.
    Class(u32),
    /// A real value.
    Value(f32),
}

/// One row of a [`LabeledDataset`].
#[derive(Debug, Clone, PartialEq)]
pub struct LabeledItem {
    /// The feature values.
    pub features: Vec<f32>,
    /// The target.
    pub target: Target,
}

/// Numeric features with one target per row; implements Burn's `Dataset`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabeledDataset {
    features: Matrix,
    targets: Targets,
}

impl LabeledDataset {
    /// Pairs features and targets of equal row count.
    pub fn new(features: Matrix, targets: Targets) -> Result<Self> {
        if features.rows() != targets.len() {
            return Err(DataError::config(
                "targets",
                format!(
                    "{} targets for {} feature rows",
                    targets.len(),
                    features.rows()
                ),
            ));
        }
        Ok(Self { features, targets })
    }

    /// The features.
    pub fn features(&self) -> &Matrix {
        &self.features
    }

    /// The targets.
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// The rows at `indices`, in that order.
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn take(&self, indices: &[usize]) -> Self {
        Self {
            features: self.features.take(indices),
            targets: self.targets.take(indices),
        }
    }
}

impl burn_dataset::Dataset<LabeledItem> for LabeledDataset {
    fn get(&self, index: usize) -> std::result::Result<LabeledItem, burn_dataset::DatasetError> {
        if index >= self.features.rows() {
            return Err(crate::error::out_of_range(index, self.features.rows()));
        }
        let target = match &self.targets {
            Targets::Classes { codes, .. } => Target::Class(codes[index]),
            Targets::Values(v) => Target::Value(v[index]),
        };
        Ok(LabeledItem {
            features: self.features.row(index).to_vec(),
            target,
        })
    }

    fn len(&self) -> usize {
        self.features.rows()
    }
}
