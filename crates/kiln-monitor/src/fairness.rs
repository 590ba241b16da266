//! Group fairness of a classifier's decisions, as Fairlearn defines it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{MonitorError, Result};

/// Rates of one group of the sensitive attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRates {
    /// The group's value of the sensitive attribute.
    pub group: String,
    /// Rows in the group.
    pub count: u64,
    /// Share of the group predicted positive.
    pub selection_rate: f64,
    /// Share of the group's actual positives predicted positive; `None` without positives.
    pub true_positive_rate: Option<f64>,
    /// Share of the group's actual negatives predicted positive; `None` without negatives.
    pub false_positive_rate: Option<f64>,
}

/// Fairness of binary decisions across the groups of a sensitive attribute, with
/// Fairlearn's definitions (`demographic_parity_difference`, `demographic_parity_ratio`,
/// `equalized_odds_difference`, all "between groups").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessReport {
    /// Per group, in sorted order.
    pub groups: Vec<GroupRates>,
    /// Largest minus smallest selection rate (0 is parity).
    pub demographic_parity_difference: f64,
    /// Smallest over largest selection rate (1 is parity); `None` when no group has any
    /// positive prediction.
    pub demographic_parity_ratio: Option<f64>,
    /// The larger of the spreads (largest minus smallest) of true and of false positive
    /// rates, over groups where each is defined (0 is parity).
    pub equalized_odds_difference: f64,
}

impl FairnessReport {
    /// Compares groups: `actual` and `predicted` are labels, `positive` the favourable one,
    /// `sensitive` each row's group.
    ///
    /// # Errors
    /// Inputs of different lengths, or no rows.
    pub fn compute<S: AsRef<str>>(
        actual: &[S],
        predicted: &[S],
        sensitive: &[S],
        positive: &str,
    ) -> Result<Self> {
        for (what, len) in [
            ("predicted", predicted.len()),
            ("sensitive", sensitive.len()),
        ] {
            if len != actual.len() {
                return Err(MonitorError::LengthMismatch {
                    what: format!("actual labels and {what} values"),
                    left: actual.len(),
                    right: len,
                });
            }
        }
        if actual.is_empty() {
            return Err(MonitorError::Empty {
                what: "fairness input".into(),
            });
        }
        // Per group: [rows, predicted positive, actual positive, true positive,
        // actual negative, false positive].
        let mut counts: BTreeMap<&str, [u64; 6]> = BTreeMap::new();
        for ((a, p), s) in actual.iter().zip(predicted).zip(sensitive) {
            let c = counts.entry(s.as_ref()).or_default();
            let (a, p) = (a.as_ref() == positive, p.as_ref() == positive);
            c[0] += 1;
            c[1] += u64::from(p);
            if a {
                c[2] += 1;
                c[3] += u64::from(p);
            } else {
                c[4] += 1;
                c[5] += u64::from(p);
            }
        }
        let rate = |num: u64, den: u64| (den > 0).then(|| num as f64 / den as f64);
        let groups: Vec<GroupRates> = counts
            .into_iter()
            .map(|(g, c)| GroupRates {
                group: g.to_owned(),
                count: c[0],
                selection_rate: c[1] as f64 / c[0] as f64,
                true_positive_rate: rate(c[3], c[2]),
                false_positive_rate: rate(c[5], c[4]),
            })
            .collect();
        let spread = |values: Vec<f64>| -> (f64, f64) {
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if values.is_empty() {
                (0.0, 0.0)
            } else {
                (min, max)
            }
        };
        let (min_sel, max_sel) = spread(groups.iter().map(|g| g.selection_rate).collect());
        let (min_tpr, max_tpr) =
            spread(groups.iter().filter_map(|g| g.true_positive_rate).collect());
        let (min_fpr, max_fpr) = spread(
            groups
                .iter()
                .filter_map(|g| g.false_positive_rate)
                .collect(),
        );
        Ok(Self {
            demographic_parity_difference: max_sel - min_sel,
            demographic_parity_ratio: (max_sel > 0.0).then(|| min_sel / max_sel),
            equalized_odds_difference: (max_tpr - min_tpr).max(max_fpr - min_fpr),
            groups,
        })
    }
}
