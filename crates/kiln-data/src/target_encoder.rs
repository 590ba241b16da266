//! The fitted target: class names ↔ codes, or a regression target's mean and deviation.

use serde::{Deserialize, Serialize};

use crate::column::Column;
use crate::column_type::ColumnType;
use crate::error::{DataError, Result};
use crate::labeled::Targets;

/// Integer targets with more distinct values than this are regression targets under
/// [`Task::Auto`].
pub const MAX_AUTO_CLASSES: usize = 20;

/// What a target asks of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Regression for a float target or an integer one with more than [`MAX_AUTO_CLASSES`]
    /// distinct values; classification otherwise.
    #[default]
    Auto,
    /// One class per row (integer, boolean or categorical targets).
    Classification,
    /// One real value per row.
    Regression,
}

/// A fitted target encoder: it turns a target column into the codes or standardized values a
/// model trains on, and a model's outputs back into class names or values in the target's
/// units. It is saved in model bundles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TargetEncoder {
    /// Classification: one output (logit) per class, in this order.
    Classes {
        /// The class names, indexed by code.
        classes: Vec<String>,
    },
    /// Regression: the model predicts `(y - mean) / std`.
    Values {
        /// Mean of the training targets.
        mean: f64,
        /// Standard deviation (population) of the training targets; 1 when they are constant.
        std: f64,
    },
}

impl TargetEncoder {
    /// A classification encoder over these class names (at least two).
    pub fn classes(classes: Vec<String>) -> Result<Self> {
        if classes.len() < 2 {
            return Err(DataError::config(
                "target",
                format!(
                    "{} class(es) {classes:?}: a classifier needs at least two",
                    classes.len()
                ),
            ));
        }
        Ok(Self::Classes { classes })
    }

    /// A regression encoder predicting `(y - mean) / std` (`std` positive and finite).
    pub fn values(mean: f64, std: f64) -> Result<Self> {
        if !(mean.is_finite() && std.is_finite() && std > 0.0) {
            return Err(DataError::config(
                "target",
                format!("mean {mean} and std {std} must be finite, std positive"),
            ));
        }
        Ok(Self::Values { mean, std })
    }

    /// Fits the encoder for `task` on a target column. Class names come from every row (a
    /// class seen only outside the training rows still gets an output); a regression target's
    /// mean and deviation come from `train_rows` alone.
    ///
    /// # Errors
    /// A missing or non-finite target value (naming the row), a column of the wrong type, or a
    /// classification target with fewer than two classes.
    pub fn fit(column: &Column, task: Task, train_rows: &[usize]) -> Result<Self> {
        if train_rows.is_empty() {
            return Err(DataError::config("train", "needs at least one row"));
        }
        if resolve_task(column, task)? == Task::Regression {
            let values = column.to_f32_values()?;
            let n = train_rows.len() as f64;
            let mean = train_rows
                .iter()
                .map(|&r| f64::from(values[r]))
                .sum::<f64>()
                / n;
            let var = train_rows
                .iter()
                .map(|&r| (f64::from(values[r]) - mean).powi(2))
                .sum::<f64>()
                / n;
            let std = if var > 0.0 { var.sqrt() } else { 1.0 };
            return Self::values(mean, std);
        }
        let (_, classes) = column.class_codes()?;
        if classes.len() < 2 {
            return Err(DataError::config(
                column.name(),
                format!(
                    "every row is `{}`, but a classifier needs at least two classes; pick \
                     another target column",
                    classes.first().map_or("", String::as_str)
                ),
            ));
        }
        Self::classes(classes)
    }

    /// Whether the task is classification.
    pub fn is_classification(&self) -> bool {
        matches!(self, Self::Classes { .. })
    }

    /// The task this encoder serves.
    pub fn task(&self) -> Task {
        match self {
            Self::Classes { .. } => Task::Classification,
            Self::Values { .. } => Task::Regression,
        }
    }

    /// The class names (empty for regression).
    pub fn class_names(&self) -> &[String] {
        match self {
            Self::Classes { classes } => classes,
            Self::Values { .. } => &[],
        }
    }

    /// Outputs a model needs: one per class, or one value.
    pub fn n_outputs(&self) -> usize {
        match self {
            Self::Classes { classes } => classes.len(),
            Self::Values { .. } => 1,
        }
    }

    /// The target column as training targets: class codes, or standardized values.
    ///
    /// # Errors
    /// A missing value, a class the encoder does not know, or a non-numeric regression target,
    /// each naming the column and row.
    pub fn encode(&self, column: &Column) -> Result<Targets> {
        match self {
            Self::Classes { classes } => {
                let mut codes = Vec::with_capacity(column.len());
                for row in 0..column.len() {
                    let Some(value) = column.text_at(row) else {
                        return Err(DataError::MissingValue {
                            column: column.name().into(),
                            row,
                        });
                    };
                    let Some(code) = classes.iter().position(|c| *c == value) else {
                        return Err(DataError::config(
                            column.name(),
                            format!(
                                "row {row}: class `{value}` is not one of the trained classes \
                                 ({}); drop the row or train on data that has it",
                                classes.join(", ")
                            ),
                        ));
                    };
                    codes.push(code as u32);
                }
                Ok(Targets::Classes {
                    codes,
                    names: classes.clone(),
                })
            }
            Self::Values { mean, std } => Ok(Targets::Values(
                column
                    .to_f32_values()?
                    .into_iter()
                    .map(|y| ((f64::from(y) - mean) / std) as f32)
                    .collect(),
            )),
        }
    }

    /// A regression output back in the target's units (`output · std + mean`); a
    /// classification encoder returns the output unchanged.
    pub fn decode_value(&self, output: f32) -> f64 {
        match self {
            Self::Values { mean, std } => f64::from(output) * std + mean,
            Self::Classes { .. } => f64::from(output),
        }
    }
}

/// The concrete task for a target column: `task` itself unless it is [`Task::Auto`].
pub fn resolve_task(column: &Column, task: Task) -> Result<Task> {
    Ok(match task {
        Task::Auto => match column.column_type() {
            ColumnType::Float => Task::Regression,
            ColumnType::Integer if column.class_codes()?.1.len() > MAX_AUTO_CLASSES => {
                Task::Regression
            }
            _ => Task::Classification,
        },
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::column::ColumnData;

    #[test]
    fn classes_round_trip_and_unknown_classes_name_the_row() {
        let column = Column::new(
            "y",
            ColumnData::Categorical {
                codes: vec![0, 1, 1, 0],
                levels: vec!["a".into(), "b".into()],
            },
            None,
        );
        let encoder = TargetEncoder::fit(&column, Task::Auto, &[0, 1]).unwrap();
        assert_eq!(encoder.class_names(), ["a", "b"]);
        let Targets::Classes { codes, .. } = encoder.encode(&column).unwrap() else {
            panic!("classes")
        };
        assert_eq!(codes, [0, 1, 1, 0]);
        let other = Column::new(
            "y",
            ColumnData::Categorical {
                codes: vec![0, 1],
                levels: vec!["a".into(), "c".into()],
            },
            None,
        );
        let err = encoder.encode(&other).unwrap_err().to_string();
        assert!(err.contains("row 1") && err.contains('c'), "{err}");
    }

    #[test]
    fn regression_standardizes_on_training_rows() {
        let column = Column::new("y", ColumnData::Float(vec![1.0, 3.0, 100.0]), None);
        let encoder = TargetEncoder::fit(&column, Task::Auto, &[0, 1]).unwrap();
        assert_eq!(
            encoder,
            TargetEncoder::Values {
                mean: 2.0,
                std: 1.0
            }
        );
        let Targets::Values(v) = encoder.encode(&column).unwrap() else {
            panic!("values")
        };
        assert_eq!(v, [-1.0, 1.0, 98.0]);
        assert_eq!(encoder.decode_value(98.0), 100.0);
    }

    #[test]
    fn one_class_is_an_error_naming_the_column() {
        let column = Column::new("y", ColumnData::Integer(vec![1, 1, 1]), None);
        let err = TargetEncoder::fit(&column, Task::Classification, &[0])
            .unwrap_err()
            .to_string();
        assert!(err.contains("`y`") && err.contains("two classes"), "{err}");
    }
}
