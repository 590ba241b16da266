//! [`Monitor`]: drift, prediction drift and accuracy over a stream of prediction requests, in
//! windows, in bounded memory.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use kiln_data::bundle::{BundleError, Manifest};
use kiln_data::{QuantileSketch, Table};
use serde::{Deserialize, Serialize};

use crate::drift::{ColumnDrift, DriftConfig, DriftReport};
use crate::error::{MonitorError, Result, invalid};
use crate::sample::Sample;
use crate::snapshot::{ColumnValues, Snapshot, SnapshotColumn};

/// Category name under which a window counts new categories past
/// [`MonitorConfig::with_max_new_categories`].
pub const OTHER_CATEGORY: &str = "<other>";

/// When a window closes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// After this many rows.
    Rows(u64),
    /// This long after the window's first request: when a later request arrives, or when
    /// [`Monitor::tick`] is called (a server calls it on a timer, so a quiet window still
    /// closes on time).
    Duration(Duration),
}

/// Settings of a [`Monitor`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorConfig {
    window: Window,
    drift: DriftConfig,
    accuracy_drop: f64,
    sketch_size: usize,
    max_new_categories: usize,
}

impl MonitorConfig {
    /// Windows of `window`; drift by [`DriftConfig::default`]; an alert when accuracy falls
    /// 0.05 below the baseline; sketches of 1024 values per level; at most 32 new categories
    /// per column and window.
    pub fn new(window: Window) -> Self {
        Self {
            window,
            drift: DriftConfig::default(),
            accuracy_drop: 0.05,
            sketch_size: 1024,
            max_new_categories: 32,
        }
    }

    /// How columns and predictions are tested.
    pub fn with_drift(mut self, drift: DriftConfig) -> Self {
        self.drift = drift;
        self
    }

    /// Alert when a window's accuracy is this far below the baseline (for regression: when
    /// its mean absolute error is this share above the baseline's).
    pub fn with_accuracy_drop(mut self, drop: f64) -> Self {
        self.accuracy_drop = drop;
        self
    }

    /// Values per level of each numeric column's quantile sketch. Memory per column and
    /// window is at most about `sketch_size × 8 bytes × log2(rows / sketch_size)`.
    pub fn with_sketch_size(mut self, k: usize) -> Self {
        self.sketch_size = k;
        self
    }

    /// New categories (not in the reference) counted apart per column and window; more
    /// are counted as [`OTHER_CATEGORY`].
    pub fn with_max_new_categories(mut self, n: usize) -> Self {
        self.max_new_categories = n;
        self
    }

    fn validate(&self) -> Result<()> {
        match self.window {
            Window::Rows(0) => return Err(invalid("window", "0 rows; use at least 1")),
            Window::Duration(d) if d.is_zero() => {
                return Err(invalid("window", "a zero duration; use a positive one"));
            }
            _ => {}
        }
        if !(self.accuracy_drop >= 0.0 && self.accuracy_drop.is_finite()) {
            return Err(invalid(
                "accuracy_drop",
                format!("{}; use a finite value ≥ 0", self.accuracy_drop),
            ));
        }
        if self.sketch_size < 8 {
            return Err(invalid(
                "sketch_size",
                format!("{}; use at least 8", self.sketch_size),
            ));
        }
        self.drift.validate()
    }
}

/// A model's outputs for a batch of requests, or the true labels that arrive later.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outputs<'a> {
    /// Class names.
    Classes(&'a [String]),
    /// Real values.
    Values(&'a [f64]),
}

impl Outputs<'_> {
    fn len(&self) -> usize {
        match self {
            Self::Classes(c) => c.len(),
            Self::Values(v) => v.len(),
        }
    }
}

/// Something a window found that needs attention.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Alert {
    /// Enough input columns drifted for the dataset to count as drifted.
    DatasetDrift {
        /// The window's index (0-based).
        window: u64,
        /// The drifted columns.
        columns: Vec<String>,
    },
    /// The predictions' distribution drifted from the reference's.
    PredictionDrift {
        /// The window's index.
        window: u64,
        /// The test's result.
        drift: ColumnDrift,
    },
    /// Accuracy (or, for regression, mean absolute error) got worse than the baseline.
    PerformanceDrop {
        /// The window's index.
        window: u64,
        /// `accuracy` or `mae`.
        metric: String,
        /// The window's value.
        value: f64,
        /// The baseline's value.
        baseline: f64,
    },
}

/// What one window saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowReport {
    /// The window's index (0-based).
    pub window: u64,
    /// Requests observed.
    pub rows: u64,
    /// Input drift against the reference.
    pub features: DriftReport,
    /// Prediction drift against the reference target, when the monitor has one.
    pub predictions: Option<ColumnDrift>,
    /// Labels received, and accuracy (classification) or mean absolute error (regression).
    pub labeled: u64,
    /// Share of correct predictions among the labeled ones.
    pub accuracy: Option<f64>,
    /// Mean absolute error among the labeled ones.
    pub mae: Option<f64>,
    /// Alerts raised.
    pub alerts: Vec<Alert>,
}

/// Accumulates one column of one window in bounded memory.
#[derive(Debug, Clone)]
enum Accumulator {
    Numeric {
        sketch: QuantileSketch,
        missing: u64,
    },
    Categorical {
        counts: BTreeMap<String, f64>,
        known: usize,
        missing: u64,
    },
}

impl Accumulator {
    fn like(reference: &ColumnValues, config: &MonitorConfig) -> Self {
        match reference {
            ColumnValues::Numeric(_) => Self::Numeric {
                sketch: QuantileSketch::new(config.sketch_size),
                missing: 0,
            },
            ColumnValues::Categorical(r) => Self::Categorical {
                counts: r.keys().map(|k| (k.clone(), 0.0)).collect(),
                known: r.len(),
                missing: 0,
            },
        }
    }

    fn add_category(&mut self, value: Option<&str>, max_new: usize) {
        let Self::Categorical {
            counts,
            known,
            missing,
        } = self
        else {
            unreachable!("categorical accumulator")
        };
        let Some(v) = value else {
            *missing += 1;
            return;
        };
        if let Some(c) = counts.get_mut(v) {
            *c += 1.0;
        } else if counts.len() < *known + max_new {
            counts.insert(v.to_owned(), 1.0);
        } else {
            *counts.entry(OTHER_CATEGORY.to_owned()).or_insert(0.0) += 1.0;
        }
    }

    fn add_number(&mut self, value: Option<f64>) {
        let Self::Numeric { sketch, missing } = self else {
            unreachable!("numeric accumulator")
        };
        match value {
            Some(v) if v.is_finite() => sketch.insert(v),
            _ => *missing += 1,
        }
    }

    fn snapshot(&self, name: &str) -> SnapshotColumn {
        match self {
            Self::Numeric { sketch, missing } => SnapshotColumn {
                name: name.to_owned(),
                values: ColumnValues::Numeric(Sample::from_sketch(sketch)),
                missing: *missing,
            },
            Self::Categorical {
                counts, missing, ..
            } => SnapshotColumn {
                name: name.to_owned(),
                values: ColumnValues::Categorical(
                    counts
                        .iter()
                        .filter(|(_, c)| **c > 0.0)
                        .map(|(k, c)| (k.clone(), *c))
                        .collect(),
                ),
                missing: *missing,
            },
        }
    }
}

/// Where a monitor sends alerts as they are raised.
type AlertSink = Box<dyn FnMut(&Alert) + Send + Sync>;

/// Watches prediction requests: each closed window compares its inputs with the reference
/// (a [`DriftReport`]), its predictions with the reference target, and, when labels came
/// in, its accuracy with the baseline; alerts come back from [`observe`](Self::observe) and
/// go to the sink, if one is set. Memory does not grow with the stream: each window keeps
/// a quantile sketch per numeric column and bounded counts per categorical one.
pub struct Monitor {
    config: MonitorConfig,
    reference: Snapshot,
    prediction_reference: Option<SnapshotColumn>,
    baseline: Option<(String, f64)>,
    window: u64,
    started: Option<SystemTime>,
    rows: u64,
    columns: Vec<Accumulator>,
    predictions: Option<Accumulator>,
    labeled: u64,
    correct: u64,
    abs_error: f64,
    labels_are_values: bool,
    sink: Option<AlertSink>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("config", &self.config)
            .field("columns", &self.reference.columns().len())
            .field("window", &self.window)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl Monitor {
    /// A monitor of the reference's columns.
    pub fn new(reference: Snapshot, config: MonitorConfig) -> Result<Self> {
        config.validate()?;
        let columns = reference
            .columns()
            .iter()
            .map(|c| Accumulator::like(&c.values, &config))
            .collect();
        Ok(Self {
            config,
            reference,
            prediction_reference: None,
            baseline: None,
            window: 0,
            started: None,
            rows: 0,
            columns,
            predictions: None,
            labeled: 0,
            correct: 0,
            abs_error: 0.0,
            labels_are_values: false,
            sink: None,
        })
    }

    /// A monitor for a model bundle (a directory written by `kiln_train::Bundle::save`):
    /// the reference is the bundle's training profile; its input columns are those the
    /// bundle's preprocessor reads (every profiled column when it has none); the profile's
    /// one remaining column, the target, is the reference for prediction drift; the
    /// bundle's `test_accuracy` (or `test_mae`) metric is the baseline.
    ///
    /// # Errors
    /// The directory is not a bundle, has no profile, or a file's checksum does not match.
    pub fn from_bundle(dir: impl AsRef<Path>, config: MonitorConfig) -> Result<Self> {
        let dir = dir.as_ref();
        let bad = |source: BundleError| MonitorError::Bundle {
            path: dir.to_owned(),
            source: Box::new(source),
        };
        let manifest = Manifest::read(dir).map_err(bad)?;
        manifest.verify(dir).map_err(bad)?;
        let profile = manifest.profile(dir).map_err(bad)?.ok_or_else(|| {
            bad(BundleError::MissingPart {
                file: kiln_data::bundle::PROFILE.into(),
                hint: "save the bundle with `Bundle::with_profile` to monitor it".into(),
            })
        })?;
        let mut reference = Snapshot::from_profile(&profile);
        let inputs: Option<Vec<String>> = manifest
            .preprocessor(dir)
            .map_err(bad)?
            .map(|p| p.input_columns().into_iter().map(str::to_owned).collect());
        let mut target = None;
        if let Some(inputs) = &inputs {
            let others: Vec<String> = reference
                .columns()
                .iter()
                .filter(|c| !inputs.contains(&c.name))
                .map(|c| c.name.clone())
                .collect();
            if let [one] = others.as_slice() {
                target = reference.column(one).cloned();
            }
            for name in others {
                reference = reference.without(&name);
            }
        }
        let mut monitor = Self::new(reference, config)?;
        if let Some(t) = target {
            monitor.prediction_reference = Some(t);
        }
        if let Some((metric, &value)) = ["test_accuracy", "test_mae"]
            .into_iter()
            .find_map(|m| manifest.metrics.get(m).map(|v| (m, v)))
        {
            monitor = monitor.with_baseline(metric, value);
        }
        Ok(monitor)
    }

    /// Compares predictions with this reference column (e.g. the training target, or
    /// predictions on validation data).
    pub fn with_prediction_reference(mut self, reference: SnapshotColumn) -> Self {
        self.prediction_reference = Some(reference);
        self
    }

    /// Accuracy (`"accuracy"`) or mean absolute error (`"mae"`) on held-out data, the level
    /// windows are compared with.
    pub fn with_baseline(mut self, metric: &str, value: f64) -> Self {
        self.baseline = Some((metric.trim_start_matches("test_").to_owned(), value));
        self
    }

    /// Calls `sink` with every alert as it is raised.
    pub fn with_alert_sink(mut self, sink: impl FnMut(&Alert) + Send + Sync + 'static) -> Self {
        self.sink = Some(Box::new(sink));
        self
    }

    /// The reference the inputs are compared with.
    pub fn reference(&self) -> &Snapshot {
        &self.reference
    }

    /// Observes a batch of requests and the model's outputs for them, now.
    pub fn observe(&mut self, rows: &Table, outputs: Outputs<'_>) -> Result<Vec<WindowReport>> {
        self.observe_at(rows, outputs, SystemTime::now())
    }

    /// Observes a batch at a given time (for replays and tests). Returns the reports of the
    /// windows this batch closed.
    ///
    /// # Errors
    /// A reference column is missing from `rows`, or the outputs do not match the rows.
    pub fn observe_at(
        &mut self,
        rows: &Table,
        outputs: Outputs<'_>,
        at: SystemTime,
    ) -> Result<Vec<WindowReport>> {
        if outputs.len() != rows.rows() {
            return Err(MonitorError::LengthMismatch {
                what: "requests and outputs".into(),
                left: rows.rows(),
                right: outputs.len(),
            });
        }
        let mut cols = Vec::with_capacity(self.columns.len());
        for c in self.reference.columns() {
            cols.push(rows.column(&c.name).map_err(|_| MonitorError::Column {
                column: c.name.clone(),
                reason: "missing from the observed requests; send every input column".into(),
            })?);
        }
        let mut reports = Vec::new();
        if let (Window::Duration(d), Some(start)) = (self.config.window, self.started)
            && at.duration_since(start).unwrap_or_default() >= d
        {
            reports.extend(self.close()?);
        }
        self.started.get_or_insert(at);
        for r in 0..rows.rows() {
            for (acc, col) in self.columns.iter_mut().zip(&cols) {
                match acc {
                    Accumulator::Numeric { .. } => acc.add_number(col.f64_at(r)),
                    Accumulator::Categorical { .. } => {
                        let text = col.text_at(r);
                        acc.add_category(text.as_deref(), self.config.max_new_categories);
                    }
                }
            }
            self.observe_output(outputs, r);
            self.rows += 1;
            if let Window::Rows(n) = self.config.window
                && self.rows >= n
            {
                reports.extend(self.close()?);
                self.started = Some(at);
            }
        }
        Ok(reports)
    }

    fn observe_output(&mut self, outputs: Outputs<'_>, r: usize) {
        let Some(reference) = &self.prediction_reference else {
            return;
        };
        let acc = self
            .predictions
            .get_or_insert_with(|| Accumulator::like(&reference.values, &self.config));
        match (outputs, &*acc) {
            (Outputs::Classes(c), Accumulator::Categorical { .. }) => {
                acc.add_category(Some(&c[r]), self.config.max_new_categories);
            }
            (Outputs::Values(v), Accumulator::Numeric { .. }) => acc.add_number(Some(v[r])),
            (Outputs::Classes(c), Accumulator::Numeric { .. }) => {
                // An integer-coded target: compare class names as numbers when they are.
                acc.add_number(c[r].parse().ok());
            }
            (Outputs::Values(v), Accumulator::Categorical { .. }) => {
                acc.add_category(Some(&v[r].to_string()), self.config.max_new_categories);
            }
        }
    }

    /// Records true labels for earlier predictions; they count in the current window.
    ///
    /// # Errors
    /// The two sides differ in length or kind.
    pub fn observe_labels(&mut self, predicted: Outputs<'_>, actual: Outputs<'_>) -> Result<()> {
        if predicted.len() != actual.len() {
            return Err(MonitorError::LengthMismatch {
                what: "predictions and labels".into(),
                left: predicted.len(),
                right: actual.len(),
            });
        }
        match (predicted, actual) {
            (Outputs::Classes(p), Outputs::Classes(a)) => {
                self.labels_are_values = false;
                self.correct += p.iter().zip(a).filter(|(p, a)| p == a).count() as u64;
            }
            (Outputs::Values(p), Outputs::Values(a)) => {
                self.labels_are_values = true;
                self.abs_error += p.iter().zip(a).map(|(p, a)| (p - a).abs()).sum::<f64>();
            }
            _ => {
                return Err(invalid(
                    "labels",
                    "predictions and labels must both be classes or both be values",
                ));
            }
        }
        self.labeled += predicted.len() as u64;
        Ok(())
    }

    /// Closes the current window (if it saw any request) and returns its report.
    pub fn flush(&mut self) -> Result<Option<WindowReport>> {
        self.close()
    }

    /// Closes a [`Window::Duration`] window whose time is up at `now`, and returns its report
    /// (`None` while the window is open, empty, or counted in rows).
    pub fn tick(&mut self, now: SystemTime) -> Result<Option<WindowReport>> {
        match (self.config.window, self.started) {
            (Window::Duration(d), Some(start))
                if now.duration_since(start).unwrap_or_default() >= d =>
            {
                self.started = None;
                self.close()
            }
            _ => Ok(None),
        }
    }

    /// Requests observed in the open window so far.
    pub fn window_rows(&self) -> u64 {
        self.rows
    }

    /// The index of the open window (0-based; closed windows number below it).
    pub fn window_index(&self) -> u64 {
        self.window
    }

    fn close(&mut self) -> Result<Option<WindowReport>> {
        if self.rows == 0 {
            return Ok(None);
        }
        let window = self.window;
        let current = Snapshot::from_columns(
            self.reference
                .columns()
                .iter()
                .zip(&self.columns)
                .map(|(c, acc)| acc.snapshot(&c.name))
                .collect(),
            self.rows,
        );
        let features = DriftReport::compute(&self.reference, &current, &self.config.drift)?;
        let predictions = match (&self.prediction_reference, &self.predictions) {
            (Some(reference), Some(acc)) => {
                let name = reference.name.clone();
                let current = Snapshot::from_columns(vec![acc.snapshot(&name)], self.rows);
                let reference = Snapshot::from_columns(vec![reference.clone()], 0);
                let report = DriftReport::compute(&reference, &current, &self.config.drift)?;
                report.columns.into_iter().next()
            }
            _ => None,
        };
        let labeled = self.labeled as f64;
        let (accuracy, mae) = match (self.labeled, self.labels_are_values) {
            (0, _) => (None, None),
            (_, true) => (None, Some(self.abs_error / labeled)),
            (_, false) => (Some(self.correct as f64 / labeled), None),
        };
        let mut alerts = Vec::new();
        if features.dataset_drift {
            alerts.push(Alert::DatasetDrift {
                window,
                columns: features.drifted().map(|c| c.column.clone()).collect(),
            });
        }
        if let Some(p) = predictions.as_ref().filter(|p| p.drifted) {
            alerts.push(Alert::PredictionDrift {
                window,
                drift: p.clone(),
            });
        }
        if let Some((metric, baseline)) = &self.baseline {
            let drop = self.config.accuracy_drop;
            let worse = match (metric.as_str(), accuracy, mae) {
                ("accuracy", Some(a), _) => (a < baseline - drop).then_some(a),
                ("mae", _, Some(m)) => (m > baseline * (1.0 + drop)).then_some(m),
                _ => None,
            };
            if let Some(value) = worse {
                alerts.push(Alert::PerformanceDrop {
                    window,
                    metric: metric.clone(),
                    value,
                    baseline: *baseline,
                });
            }
        }
        if let Some(sink) = &mut self.sink {
            for alert in &alerts {
                sink(alert);
            }
        }
        let report = WindowReport {
            window,
            rows: self.rows,
            features,
            predictions,
            labeled: self.labeled,
            accuracy,
            mae,
            alerts,
        };
        // Start the next window.
        self.window += 1;
        self.rows = 0;
        self.started = None;
        self.labeled = 0;
        self.correct = 0;
        self.abs_error = 0.0;
        self.predictions = None;
        for (acc, c) in self.columns.iter_mut().zip(self.reference.columns()) {
            *acc = Accumulator::like(&c.values, &self.config);
        }
        Ok(Some(report))
    }
}

#[cfg(test)]
mod tests {
    use kiln_data::{Column, ColumnData};

    use super::*;

    #[test]
    fn memory_stays_bounded_over_a_long_window() {
        let x: Vec<f64> = (0..1000).map(f64::from).collect();
        let reference = Snapshot::from_table(
            &Table::new(vec![Column::new("x", ColumnData::Float(x), None)]).unwrap(),
        )
        .unwrap();
        let config = MonitorConfig::new(Window::Rows(u64::MAX)).with_sketch_size(256);
        let mut monitor = Monitor::new(reference, config).unwrap();
        let batch: Vec<f64> = (0..10_000).map(|i| f64::from(i % 977)).collect();
        let table = Table::new(vec![Column::new("x", ColumnData::Float(batch), None)]).unwrap();
        let outputs = vec![0.0; 10_000];
        for _ in 0..50 {
            monitor.observe(&table, Outputs::Values(&outputs)).unwrap();
        }
        let Accumulator::Numeric { sketch, .. } = &monitor.columns[0] else {
            panic!("numeric column")
        };
        let kept = sketch.weighted().len();
        assert_eq!(sketch.count(), 500_000);
        assert!(
            kept < 256 * 12,
            "a window of 500,000 rows keeps {kept} values"
        );
    }
}
