//! A model's outputs in the target's terms: class names with probabilities, or values.

use kiln_data::{Matrix, TargetEncoder};

use crate::trainer::argmax;

/// Decoded predictions, one per row.
#[derive(Debug, Clone, PartialEq)]
pub enum Predictions {
    /// Classification: the arg-max class of each row and every class's softmax probability.
    Classes {
        /// The class names, indexed by code.
        classes: Vec<String>,
        /// The predicted code of each row.
        codes: Vec<u32>,
        /// `[rows, classes]` probabilities.
        probabilities: Matrix,
    },
    /// Regression: values in the target's units.
    Values(Vec<f64>),
}

impl Predictions {
    /// Decodes raw model outputs (logits, or standardized values) through a target encoder.
    pub fn decode(target: &TargetEncoder, outputs: &Matrix) -> Self {
        match target {
            TargetEncoder::Values { .. } => Self::Values(
                (0..outputs.rows())
                    .map(|r| target.decode_value(outputs.row(r)[0]))
                    .collect(),
            ),
            TargetEncoder::Classes { classes } => {
                let mut probabilities = Vec::with_capacity(outputs.rows() * outputs.cols());
                let mut codes = Vec::with_capacity(outputs.rows());
                for r in 0..outputs.rows() {
                    let row = outputs.row(r);
                    codes.push(argmax(row) as u32);
                    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let exp: Vec<f64> = row.iter().map(|&x| f64::from(x - max).exp()).collect();
                    let sum: f64 = exp.iter().sum();
                    probabilities.extend(exp.iter().map(|e| (e / sum) as f32));
                }
                let probabilities = Matrix::new(outputs.rows(), outputs.cols(), probabilities)
                    .unwrap_or_else(|_| unreachable!("same shape as the outputs"));
                Self::Classes {
                    classes: classes.clone(),
                    codes,
                    probabilities,
                }
            }
        }
    }

    /// Rows.
    pub fn len(&self) -> usize {
        match self {
            Self::Classes { codes, .. } => codes.len(),
            Self::Values(values) => values.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each row's prediction as text: its class name, or its value.
    pub fn labels(&self) -> Vec<String> {
        match self {
            Self::Classes { classes, codes, .. } => {
                codes.iter().map(|&c| classes[c as usize].clone()).collect()
            }
            Self::Values(values) => values.iter().map(f64::to_string).collect(),
        }
    }
}
