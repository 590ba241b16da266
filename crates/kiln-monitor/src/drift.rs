//! Per-column drift reports between a reference [`Snapshot`] and current data.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{MonitorError, Result, invalid};
use crate::sample::Sample;
use crate::snapshot::{ColumnValues, Snapshot};
use crate::stats::{
    Bins, KsMethod, chi2_contingency, jensen_shannon_distance, ks_samples, psi, wasserstein_samples,
};

/// A drift test for one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftTest {
    /// Two-sample Kolmogorov–Smirnov; drift when the p-value is below the threshold.
    Ks,
    /// Chi-squared on the 2×k table of category counts; drift when the p-value is below the
    /// threshold.
    ChiSquared,
    /// Wasserstein-1 distance divided by the reference's standard deviation (at least
    /// 0.001); drift when at or above the threshold.
    Wasserstein,
    /// Jensen–Shannon distance (natural log) between binned or category frequencies; drift
    /// when at or above the threshold.
    JensenShannon,
    /// Population stability index on reference-quantile bins; drift when at or above the
    /// threshold.
    Psi,
}

impl DriftTest {
    /// Whether the test's number is a p-value (drift below the threshold) rather than a
    /// distance (drift at or above it).
    pub fn is_p_value(self) -> bool {
        matches!(self, Self::Ks | Self::ChiSquared)
    }

    fn name(self) -> &'static str {
        match self {
            Self::Ks => "K-S p-value",
            Self::ChiSquared => "chi² p-value",
            Self::Wasserstein => "Wasserstein (normed)",
            Self::JensenShannon => "Jensen-Shannon",
            Self::Psi => "PSI",
        }
    }
}

/// How columns are tested and when they count as drifted. The defaults follow Evidently:
///
/// | column                                   | reference ≤ 1000 values | larger reference        |
/// |------------------------------------------|-------------------------|-------------------------|
/// | numeric, more than 5 distinct values     | K-S, p < 0.05           | Wasserstein normed ≥ 0.1 |
/// | categorical, boolean, or ≤ 5 distinct    | chi², p < 0.05          | Jensen–Shannon ≥ 0.1    |
///
/// PSI (≥ 0.1 on 10 reference-quantile bins) is available per column through
/// [`with_test`](Self::with_test). The dataset drifts when at least half of its columns do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftConfig {
    small_reference: u64,
    max_categories_for_numeric: usize,
    thresholds: BTreeMap<DriftTest, f64>,
    bins: usize,
    drift_share: f64,
    tests: BTreeMap<String, DriftTest>,
}

impl Default for DriftConfig {
    fn default() -> Self {
        Self {
            small_reference: 1000,
            max_categories_for_numeric: 5,
            thresholds: BTreeMap::from([
                (DriftTest::Ks, 0.05),
                (DriftTest::ChiSquared, 0.05),
                (DriftTest::Wasserstein, 0.1),
                (DriftTest::JensenShannon, 0.1),
                (DriftTest::Psi, 0.1),
            ]),
            bins: 10,
            drift_share: 0.5,
            tests: BTreeMap::new(),
        }
    }
}

impl DriftConfig {
    /// Uses `test` for `column` whatever its type and size.
    pub fn with_test(mut self, column: &str, test: DriftTest) -> Self {
        self.tests.insert(column.to_owned(), test);
        self
    }

    /// Sets a test's threshold (a p-value for K-S and chi², a distance for the others).
    pub fn with_threshold(mut self, test: DriftTest, threshold: f64) -> Self {
        self.thresholds.insert(test, threshold);
        self
    }

    /// Reference sizes up to this use K-S and chi²; larger ones Wasserstein and
    /// Jensen–Shannon (default 1000).
    pub fn with_small_reference(mut self, rows: u64) -> Self {
        self.small_reference = rows;
        self
    }

    /// Bins for PSI and for Jensen–Shannon on numeric columns (default 10).
    pub fn with_bins(mut self, bins: usize) -> Self {
        self.bins = bins;
        self
    }

    /// Share of drifted columns at which the dataset counts as drifted (default 0.5).
    pub fn with_drift_share(mut self, share: f64) -> Self {
        self.drift_share = share;
        self
    }

    /// The threshold of a test.
    pub fn threshold(&self, test: DriftTest) -> f64 {
        self.thresholds[&test]
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        for (test, &t) in &self.thresholds {
            let ok = if test.is_p_value() {
                t > 0.0 && t < 1.0
            } else {
                t.is_finite() && t > 0.0
            };
            if !ok {
                return Err(invalid(
                    "threshold",
                    format!("{t} for {test:?}; use a p-value in (0, 1) or a distance above 0"),
                ));
            }
        }
        if self.bins < 2 {
            return Err(invalid("bins", format!("{}; use at least 2", self.bins)));
        }
        if !(self.drift_share > 0.0 && self.drift_share <= 1.0) {
            return Err(invalid(
                "drift_share",
                format!("{}; use a share in (0, 1]", self.drift_share),
            ));
        }
        Ok(())
    }
}

/// One column's drift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnDrift {
    /// The column.
    pub column: String,
    /// The test used.
    pub test: DriftTest,
    /// The test's number: a p-value for K-S and chi², else a distance.
    pub score: f64,
    /// The threshold it was compared with.
    pub threshold: f64,
    /// Whether the column drifted.
    pub drifted: bool,
    /// Values in the reference (missing ones left out).
    pub reference_count: u64,
    /// Values in the current data.
    pub current_count: u64,
    /// Share of missing values in the reference and in the current data.
    pub missing_share: [f64; 2],
    /// Whether both sides were raw values (a sketch makes the score approximate).
    pub exact: bool,
}

/// Drift of every column, and the verdict for the dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    /// One entry per reference column, in the reference's order.
    pub columns: Vec<ColumnDrift>,
    /// How many columns drifted.
    pub drifted_columns: usize,
    /// `drifted_columns / columns`.
    pub drifted_share: f64,
    /// The share at which the dataset counts as drifted.
    pub drift_share: f64,
    /// The verdict.
    pub dataset_drift: bool,
}

impl DriftReport {
    /// Compares every column of `reference` with the same column of `current`.
    ///
    /// # Errors
    /// An invalid config, a reference column missing from `current` or of another kind
    /// there, or a column with no values on one side.
    pub fn compute(reference: &Snapshot, current: &Snapshot, config: &DriftConfig) -> Result<Self> {
        config.validate()?;
        let columns = crate::parallel::map(reference.columns(), |r| {
            let c = current
                .column(&r.name)
                .ok_or_else(|| MonitorError::Column {
                    column: r.name.clone(),
                    reason: "missing from the current data; pass the same columns as the reference"
                        .into(),
                })?;
            let mut drift = column_drift(&r.name, &r.values, &c.values, config)?;
            let share = |missing: u64, count: u64| {
                let all = missing + count;
                if all == 0 {
                    0.0
                } else {
                    missing as f64 / all as f64
                }
            };
            drift.missing_share = [
                share(r.missing, drift.reference_count),
                share(c.missing, drift.current_count),
            ];
            Ok(drift)
        })
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
        let drifted_columns = columns.iter().filter(|c| c.drifted).count();
        let drifted_share = if columns.is_empty() {
            0.0
        } else {
            drifted_columns as f64 / columns.len() as f64
        };
        Ok(Self {
            dataset_drift: !columns.is_empty() && drifted_share >= config.drift_share,
            columns,
            drifted_columns,
            drifted_share,
            drift_share: config.drift_share,
        })
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a drift report always serializes")
    }

    /// The drifted columns.
    pub fn drifted(&self) -> impl Iterator<Item = &ColumnDrift> {
        self.columns.iter().filter(|c| c.drifted)
    }
}

impl fmt::Display for DriftReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .columns
            .iter()
            .map(|c| c.column.len())
            .max()
            .unwrap_or(6)
            .max(6);
        writeln!(
            f,
            "{:width$}  {:<20}  {:>10}  {:>9}  {:>9}  {:>9}  drift",
            "column", "test", "score", "threshold", "reference", "current"
        )?;
        for c in &self.columns {
            writeln!(
                f,
                "{:width$}  {:<20}  {:>10.4}  {:>9}  {:>9}  {:>9}  {}{}",
                c.column,
                c.test.name(),
                c.score,
                c.threshold,
                c.reference_count,
                c.current_count,
                if c.drifted { "DRIFT" } else { "-" },
                if c.exact { "" } else { " (sketch)" },
            )?;
        }
        writeln!(
            f,
            "{} of {} columns drifted ({:.0}%; the dataset drifts at {:.0}%): {}",
            self.drifted_columns,
            self.columns.len(),
            100.0 * self.drifted_share,
            100.0 * self.drift_share,
            if self.dataset_drift {
                "DATASET DRIFT"
            } else {
                "no dataset drift"
            }
        )
    }
}

/// Category counts on both sides, over the union of categories (sorted).
fn aligned(r: &BTreeMap<String, f64>, c: &BTreeMap<String, f64>) -> (Vec<f64>, Vec<f64>) {
    let keys: BTreeSet<&String> = r.keys().chain(c.keys()).collect();
    keys.into_iter()
        .map(|k| {
            (
                r.get(k).copied().unwrap_or(0.0),
                c.get(k).copied().unwrap_or(0.0),
            )
        })
        .unzip()
}

/// A numeric sample's distinct values as categories.
fn as_categories(s: &Sample) -> BTreeMap<String, f64> {
    let mut counts = BTreeMap::new();
    let v = s.values();
    let mut i = 0;
    while i < v.len() {
        let j = i + v[i..].partition_point(|&x| x == v[i]);
        let w = s.weight_below(j) - s.weight_below(i);
        *counts.entry(v[i].to_string()).or_insert(0.0) += w;
        i = j;
    }
    counts
}

fn column_drift(
    name: &str,
    reference: &ColumnValues,
    current: &ColumnValues,
    config: &DriftConfig,
) -> Result<ColumnDrift> {
    let empty = |side: &str| MonitorError::Empty {
        what: format!("column `{name}` in the {side} data"),
    };
    let (reference_count, current_count, exact) = match (reference, current) {
        (ColumnValues::Numeric(r), ColumnValues::Numeric(c)) => {
            (r.count(), c.count(), r.is_exact() && c.is_exact())
        }
        (ColumnValues::Categorical(r), ColumnValues::Categorical(c)) => {
            let total = |m: &BTreeMap<String, f64>| m.values().sum::<f64>().round() as u64;
            (total(r), total(c), true)
        }
        _ => {
            return Err(MonitorError::Column {
                column: name.to_owned(),
                reason: "numeric on one side and categorical on the other; \
                         load both with the same schema"
                    .into(),
            });
        }
    };
    if reference_count == 0 {
        return Err(empty("reference"));
    }
    if current_count == 0 {
        return Err(empty("current"));
    }
    let small = reference_count <= config.small_reference;
    let numeric_as_categories = match reference {
        ColumnValues::Numeric(r) => {
            r.distinct(config.max_categories_for_numeric + 1) <= config.max_categories_for_numeric
        }
        ColumnValues::Categorical(_) => true,
    };
    let test = config
        .tests
        .get(name)
        .copied()
        .unwrap_or(match (numeric_as_categories, small) {
            (false, true) => DriftTest::Ks,
            (false, false) => DriftTest::Wasserstein,
            (true, true) => DriftTest::ChiSquared,
            (true, false) => DriftTest::JensenShannon,
        });
    let score = match (reference, current) {
        (ColumnValues::Numeric(r), ColumnValues::Numeric(c)) => match test {
            DriftTest::Ks => ks_samples(r, c, KsMethod::Auto)?.p_value,
            DriftTest::Wasserstein => {
                wasserstein_samples(r, c)? / r.std().unwrap_or(0.0).max(0.001)
            }
            DriftTest::Psi => {
                let bins = Bins::quantile(r, config.bins)?;
                psi(&bins.counts(r), &bins.counts(c))?
            }
            DriftTest::JensenShannon if numeric_as_categories => {
                let (a, b) = aligned(&as_categories(r), &as_categories(c));
                jensen_shannon_distance(&a, &b, None)?
            }
            DriftTest::JensenShannon => {
                let bins = Bins::equal_width(r, c, config.bins)?;
                jensen_shannon_distance(&bins.counts(r), &bins.counts(c), None)?
            }
            DriftTest::ChiSquared => {
                let (a, b) = aligned(&as_categories(r), &as_categories(c));
                chi2_contingency(&a, &b)?.p_value
            }
        },
        (ColumnValues::Categorical(r), ColumnValues::Categorical(c)) => {
            let (a, b) = aligned(r, c);
            match test {
                DriftTest::ChiSquared => chi2_contingency(&a, &b)?.p_value,
                DriftTest::JensenShannon => jensen_shannon_distance(&a, &b, None)?,
                DriftTest::Psi => psi(&a, &b)?,
                DriftTest::Ks | DriftTest::Wasserstein => {
                    return Err(MonitorError::Column {
                        column: name.to_owned(),
                        reason: format!(
                            "{test:?} needs numbers; use chi_squared, jensen_shannon or psi \
                             for a categorical column"
                        ),
                    });
                }
            }
        }
        _ => unreachable!("kinds checked above"),
    };
    let threshold = config.threshold(test);
    let drifted = if test.is_p_value() {
        score < threshold
    } else {
        score >= threshold
    };
    Ok(ColumnDrift {
        column: name.to_owned(),
        test,
        score,
        threshold,
        drifted,
        reference_count,
        current_count,
        missing_share: [0.0, 0.0],
        exact,
    })
}
