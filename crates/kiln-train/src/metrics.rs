//! Classification and regression metrics computed from predictions.

use std::fmt;

use kiln_data::Matrix;
use serde::{Deserialize, Serialize};

use crate::error::{Result, invalid};

/// Counts of (true class, predicted class) pairs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    n_classes: usize,
    /// Row-major: `counts[true * n_classes + predicted]`.
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    /// Tallies labels against predictions (equal lengths, codes `< n_classes`).
    pub fn new(labels: &[u32], predicted: &[u32], n_classes: usize) -> Result<Self> {
        if labels.len() != predicted.len() {
            return Err(invalid(
                "predicted",
                format!(
                    "{} predictions for {} labels",
                    predicted.len(),
                    labels.len()
                ),
            ));
        }
        let mut counts = vec![0u64; n_classes * n_classes];
        for (i, (&t, &p)) in labels.iter().zip(predicted).enumerate() {
            if t as usize >= n_classes || p as usize >= n_classes {
                return Err(invalid(
                    "labels",
                    format!("row {i}: class {} or {p} is not below {n_classes}", t),
                ));
            }
            counts[t as usize * n_classes + p as usize] += 1;
        }
        Ok(Self { n_classes, counts })
    }

    /// Tallies labels against the arg-max of each row of class scores (as
    /// [`Trainer::predict_scores`](crate::Trainer::predict_scores) returns them).
    pub fn from_scores(labels: &[u32], scores: &Matrix) -> Result<Self> {
        let predicted: Vec<u32> = (0..scores.rows())
            .map(|r| crate::trainer::argmax(scores.row(r)) as u32)
            .collect();
        Self::new(labels, &predicted, scores.cols())
    }

    /// Classes.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Rows whose true class is `truth` and predicted class is `predicted`.
    pub fn count(&self, truth: usize, predicted: usize) -> u64 {
        self.counts[truth * self.n_classes + predicted]
    }

    fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    fn row_sum(&self, c: usize) -> u64 {
        (0..self.n_classes).map(|p| self.count(c, p)).sum()
    }

    fn col_sum(&self, c: usize) -> u64 {
        (0..self.n_classes).map(|t| self.count(t, c)).sum()
    }

    /// Fraction of rows on the diagonal.
    pub fn accuracy(&self) -> f64 {
        let hits: u64 = (0..self.n_classes).map(|c| self.count(c, c)).sum();
        ratio(hits, self.total())
    }

    /// Precision of class `c` (0 when it is never predicted, as scikit-learn's default).
    pub fn precision(&self, c: usize) -> f64 {
        ratio(self.count(c, c), self.col_sum(c))
    }

    /// Recall of class `c` (0 when it never occurs).
    pub fn recall(&self, c: usize) -> f64 {
        ratio(self.count(c, c), self.row_sum(c))
    }

    /// F1 of class `c` (0 when precision and recall are both 0).
    pub fn f1(&self, c: usize) -> f64 {
        let (p, r) = (self.precision(c), self.recall(c));
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }

    /// Classes that occur as a label or a prediction (scikit-learn's label set).
    fn present(&self) -> Vec<usize> {
        (0..self.n_classes)
            .filter(|&c| self.row_sum(c) + self.col_sum(c) > 0)
            .collect()
    }

    fn macro_mean(&self, f: impl Fn(usize) -> f64) -> f64 {
        let classes = self.present();
        if classes.is_empty() {
            return 0.0;
        }
        classes.iter().map(|&c| f(c)).sum::<f64>() / classes.len() as f64
    }

    /// Unweighted mean precision over the classes present.
    pub fn macro_precision(&self) -> f64 {
        self.macro_mean(|c| self.precision(c))
    }

    /// Unweighted mean recall over the classes present.
    pub fn macro_recall(&self) -> f64 {
        self.macro_mean(|c| self.recall(c))
    }

    /// Unweighted mean F1 over the classes present.
    pub fn macro_f1(&self) -> f64 {
        self.macro_mean(|c| self.f1(c))
    }
}

impl fmt::Display for ConfusionMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .counts
            .iter()
            .max()
            .map_or(1, |m| m.to_string().len())
            .max(3);
        write!(f, "{:>6}", "t\\p")?;
        for p in 0..self.n_classes {
            write!(f, " {p:>width$}")?;
        }
        writeln!(f)?;
        for t in 0..self.n_classes {
            write!(f, "{t:>6}")?;
            for p in 0..self.n_classes {
                write!(f, " {:>width$}", self.count(t, p))?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// Mean squared error, mean absolute error and R² of real-valued predictions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RegressionMetrics {
    /// Mean squared error.
    pub mse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Coefficient of determination, `1 − SS_res / SS_tot` (scikit-learn's `r2_score`; 0 when
    /// the targets are constant and predicted imperfectly, 1 when predicted exactly).
    pub r2: f64,
}

impl RegressionMetrics {
    /// Metrics of `predicted` against `targets` (equal, non-zero lengths).
    pub fn new(targets: &[f32], predicted: &[f32]) -> Result<Self> {
        if targets.len() != predicted.len() || targets.is_empty() {
            return Err(invalid(
                "predicted",
                format!(
                    "{} predictions for {} targets",
                    predicted.len(),
                    targets.len()
                ),
            ));
        }
        let n = targets.len() as f64;
        let mean = targets.iter().map(|&t| f64::from(t)).sum::<f64>() / n;
        let (mut ss_res, mut ss_tot, mut abs) = (0.0, 0.0, 0.0);
        for (&t, &p) in targets.iter().zip(predicted) {
            let (t, p) = (f64::from(t), f64::from(p));
            ss_res += (t - p).powi(2);
            ss_tot += (t - mean).powi(2);
            abs += (t - p).abs();
        }
        Ok(Self {
            mse: ss_res / n,
            mae: abs / n,
            r2: r2(ss_res, ss_tot),
        })
    }
}

/// Fraction of rows whose label is among the `k` highest scores of its row (`scores` holds
/// one row of class scores per label, as [`Trainer::predict_scores`](crate::Trainer::predict_scores)
/// returns): a row is a hit when fewer than `k` classes score strictly higher than its label,
/// so a tie at the `k`-th place counts as a hit.
pub fn top_k_accuracy(scores: &Matrix, labels: &[u32], k: usize) -> Result<f64> {
    if scores.rows() != labels.len() || labels.is_empty() {
        return Err(invalid(
            "labels",
            format!(
                "{} labels for {} rows of scores",
                labels.len(),
                scores.rows()
            ),
        ));
    }
    if k == 0 || k > scores.cols() {
        return Err(invalid(
            "k",
            format!("{k} is not between 1 and the {} classes", scores.cols()),
        ));
    }
    let mut hits = 0usize;
    for (row, &label) in labels.iter().enumerate() {
        let row_scores = scores.row(row);
        let Some(&own) = row_scores.get(label as usize) else {
            return Err(invalid(
                "labels",
                format!("row {row}: class {label} is not below {}", scores.cols()),
            ));
        };
        let above = row_scores.iter().filter(|&&s| s > own).count();
        hits += usize::from(above < k);
    }
    Ok(hits as f64 / labels.len() as f64)
}

/// scikit-learn's `r2_score` from the residual and total sums of squares.
pub(crate) fn r2(ss_res: f64, ss_tot: f64) -> f64 {
    if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else if ss_res == 0.0 {
        1.0
    } else {
        0.0
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_scikit_learn_on_a_small_example() {
        // sklearn.metrics on y_true=[0,0,1,1,2,2,2], y_pred=[0,1,1,1,2,0,2]:
        // accuracy 5/7; precision [0.5, 2/3, 1.0], recall [0.5, 1.0, 2/3];
        // precision_score(average='macro') = 0.722222, recall macro = 0.722222,
        // f1_score(average='macro') = 0.7
        let cm = ConfusionMatrix::new(&[0, 0, 1, 1, 2, 2, 2], &[0, 1, 1, 1, 2, 0, 2], 3).unwrap();
        assert!((cm.accuracy() - 5.0 / 7.0).abs() < 1e-12);
        assert!((cm.macro_precision() - 0.722_222_222_222).abs() < 1e-9);
        assert!((cm.macro_recall() - 0.722_222_222_222).abs() < 1e-9);
        assert!((cm.macro_f1() - 0.7).abs() < 1e-9);
        assert_eq!(cm.count(2, 0), 1);
        assert!(cm.to_string().contains("t\\p"));
        assert!(ConfusionMatrix::new(&[0], &[3], 3).is_err());
    }

    #[test]
    fn top_k_counts_labels_among_the_best_scores() {
        // sklearn.metrics.top_k_accuracy_score([0, 1, 2, 2], scores, k=2) = 0.75 (row 3 misses)
        let scores = Matrix::new(
            4,
            3,
            vec![
                0.5, 0.2, 0.3, //
                0.3, 0.4, 0.3, //
                0.2, 0.4, 0.4, //
                0.7, 0.2, 0.1,
            ],
        )
        .unwrap();
        let labels = [0, 1, 2, 2];
        assert_eq!(top_k_accuracy(&scores, &labels, 2).unwrap(), 0.75);
        assert_eq!(top_k_accuracy(&scores, &labels, 1).unwrap(), 0.75);
        assert_eq!(top_k_accuracy(&scores, &labels, 3).unwrap(), 1.0);
        assert!(top_k_accuracy(&scores, &labels, 4).is_err());
        assert!(top_k_accuracy(&scores, &[0, 1, 5, 2], 2).is_err());
    }

    #[test]
    fn regression_metrics() {
        // sklearn: mean_squared_error([3,-0.5,2,7],[2.5,0,2,8]) = 0.375,
        // mean_absolute_error = 0.5, r2_score = 0.948608...
        let m = RegressionMetrics::new(&[3.0, -0.5, 2.0, 7.0], &[2.5, 0.0, 2.0, 8.0]).unwrap();
        assert!((m.mse - 0.375).abs() < 1e-12);
        assert!((m.mae - 0.5).abs() < 1e-12);
        assert!((m.r2 - 0.948_608_137_044_967_9).abs() < 1e-12);
        assert!(RegressionMetrics::new(&[], &[]).is_err());
    }
}
