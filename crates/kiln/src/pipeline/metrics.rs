//! Test metrics, typed by task.

use std::fmt;

use kiln_data::{Column, Matrix, TargetEncoder, Targets};
use kiln_train::{ConfusionMatrix, Predictions, RegressionMetrics, top_k_accuracy};

use kiln_train::Result;

/// A classifier's scores on the test part.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassificationScores {
    /// Share of rows predicted right.
    pub accuracy: f64,
    /// Mean cross-entropy of the predicted probabilities (natural log).
    pub log_loss: f64,
    /// Share of rows whose class is among the two most probable (more than two classes).
    pub top2_accuracy: Option<f64>,
    /// Unweighted mean of the per-class precisions.
    pub macro_precision: f64,
    /// Unweighted mean of the per-class recalls.
    pub macro_recall: f64,
    /// Unweighted mean of the per-class F1 scores.
    pub macro_f1: f64,
    /// Counts by true and predicted class.
    pub confusion: ConfusionMatrix,
}

/// A regressor's scores on the test part, in the target's units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegressionScores {
    /// Coefficient of determination.
    pub r2: f64,
    /// Mean squared error.
    pub mse: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
}

/// Test metrics of a pipeline run.
#[derive(Debug, Clone, PartialEq)]
pub enum TestMetrics {
    /// Classification: accuracy and friends.
    Classification(ClassificationScores),
    /// Regression: R² and errors.
    Regression(RegressionScores),
}

impl TestMetrics {
    /// Scores predictions against the true target column.
    pub fn score(target: &TargetEncoder, truth: &Column, outputs: &Matrix) -> Result<Self> {
        let predictions = Predictions::decode(target, outputs);
        Ok(match (target.encode(truth)?, predictions) {
            (
                Targets::Classes { codes: labels, .. },
                Predictions::Classes {
                    codes,
                    probabilities,
                    classes,
                },
            ) => {
                let confusion = ConfusionMatrix::new(&labels, &codes, classes.len())?;
                let log_loss = labels
                    .iter()
                    .enumerate()
                    .map(|(r, &l)| -f64::from(probabilities.row(r)[l as usize]).max(1e-15).ln())
                    .sum::<f64>()
                    / labels.len() as f64;
                let top2_accuracy = (classes.len() > 2)
                    .then(|| top_k_accuracy(&probabilities, &labels, 2))
                    .transpose()?;
                Self::Classification(ClassificationScores {
                    accuracy: confusion.accuracy(),
                    log_loss,
                    top2_accuracy,
                    macro_precision: confusion.macro_precision(),
                    macro_recall: confusion.macro_recall(),
                    macro_f1: confusion.macro_f1(),
                    confusion,
                })
            }
            (Targets::Values(standardized), Predictions::Values(values)) => {
                let truth: Vec<f32> = standardized
                    .iter()
                    .map(|&y| target.decode_value(y) as f32)
                    .collect();
                let predicted: Vec<f32> = values.iter().map(|&v| v as f32).collect();
                let m = RegressionMetrics::new(&truth, &predicted)?;
                Self::Regression(RegressionScores {
                    r2: m.r2,
                    mse: m.mse,
                    rmse: m.mse.sqrt(),
                    mae: m.mae,
                })
            }
            _ => unreachable!("the encoder decides both"),
        })
    }

    /// The headline metric: `accuracy` for classes, `r2` for values.
    pub fn headline(&self) -> (&'static str, f64) {
        match self {
            Self::Classification(c) => ("accuracy", c.accuracy),
            Self::Regression(r) => ("r2", r.r2),
        }
    }

    /// Every metric as `test_NAME`, for bundles and tracking.
    pub fn values(&self) -> Vec<(&'static str, f64)> {
        match self {
            Self::Classification(c) => {
                let mut v = vec![
                    ("test_accuracy", c.accuracy),
                    ("test_log_loss", c.log_loss),
                    ("test_macro_precision", c.macro_precision),
                    ("test_macro_recall", c.macro_recall),
                    ("test_macro_f1", c.macro_f1),
                ];
                if let Some(t) = c.top2_accuracy {
                    v.push(("test_top2_accuracy", t));
                }
                v
            }
            Self::Regression(r) => vec![
                ("test_r2", r.r2),
                ("test_mse", r.mse),
                ("test_rmse", r.rmse),
                ("test_mae", r.mae),
            ],
        }
    }

    /// The mean of each metric over folds (the first fold's confusion matrix is kept).
    pub fn mean(folds: &[Self]) -> Option<Self> {
        let first = folds.first()?;
        let n = folds.len() as f64;
        let avg = |f: &dyn Fn(&Self) -> f64| folds.iter().map(f).sum::<f64>() / n;
        Some(match first {
            Self::Classification(c) => {
                let get = |f: fn(&ClassificationScores) -> f64| {
                    avg(&|m: &Self| match m {
                        Self::Classification(c) => f(c),
                        Self::Regression(_) => f64::NAN,
                    })
                };
                Self::Classification(ClassificationScores {
                    accuracy: get(|c| c.accuracy),
                    log_loss: get(|c| c.log_loss),
                    top2_accuracy: c
                        .top2_accuracy
                        .map(|_| get(|c| c.top2_accuracy.unwrap_or(f64::NAN))),
                    macro_precision: get(|c| c.macro_precision),
                    macro_recall: get(|c| c.macro_recall),
                    macro_f1: get(|c| c.macro_f1),
                    confusion: c.confusion.clone(),
                })
            }
            Self::Regression(_) => {
                let get = |f: fn(&RegressionScores) -> f64| {
                    avg(&|m: &Self| match m {
                        Self::Regression(r) => f(r),
                        Self::Classification(_) => f64::NAN,
                    })
                };
                Self::Regression(RegressionScores {
                    r2: get(|r| r.r2),
                    mse: get(|r| r.mse),
                    rmse: get(|r| r.rmse),
                    mae: get(|r| r.mae),
                })
            }
        })
    }
}

impl fmt::Display for TestMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Classification(c) => {
                write!(
                    f,
                    "accuracy {:.4}  log loss {:.4}  macro F1 {:.4}",
                    c.accuracy, c.log_loss, c.macro_f1
                )?;
                if let Some(t) = c.top2_accuracy {
                    write!(f, "  top-2 accuracy {t:.4}")?;
                }
                Ok(())
            }
            Self::Regression(r) => {
                write!(f, "R² {:.4}  RMSE {:.4}  MAE {:.4}", r.r2, r.rmse, r.mae)
            }
        }
    }
}
