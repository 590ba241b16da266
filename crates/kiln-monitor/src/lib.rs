//! Kiln's monitoring: is live data still like the training data, and is the model still
//! right? No Burn dependency.
//!
//! - **Statistics**, each equal to SciPy's on raw data: [`ks_2samp`], [`chi2_contingency`],
//!   [`psi`] on [`Bins`] (reference quantiles or equal widths), [`wasserstein_distance`],
//!   [`jensen_shannon_distance`]. The `*_samples` forms take [`Sample`]s, which may be
//!   weighted quantile sketches.
//! - **Drift reports**: a [`Snapshot`] of the reference (a table, or a `kiln-data`
//!   profile) against one of the current data gives a [`DriftReport`]: per column a test
//!   chosen by type and size ([`DriftConfig`] documents the defaults, after Evidently), a
//!   score and a verdict, and a verdict for the dataset, as text or JSON.
//! - **Monitors**: a [`Monitor`], usually [`Monitor::from_bundle`], observes prediction
//!   requests in windows of rows or time, in bounded memory, and reports input drift,
//!   prediction drift and accuracy per window, raising [`Alert`]s.
//! - **Fairness**: [`FairnessReport`] (demographic parity, equalized odds).
//!
//! ```
//! use kiln_monitor::{DriftConfig, DriftReport, KsMethod, Snapshot, ks_2samp};
//! use kiln_data::{Column, ColumnData, Table};
//!
//! let ks = ks_2samp(&[0.1, 0.4, 0.7, 0.9], &[0.5, 0.8, 1.1, 1.3, 1.6], KsMethod::Auto)?;
//! assert!(ks.statistic > 0.5);
//!
//! let table = |shift: f64| {
//!     let x: Vec<f64> = (0..200).map(|i| (i % 50) as f64 + shift).collect();
//!     Table::new(vec![Column::new("x", ColumnData::Float(x), None)])
//! };
//! let reference = Snapshot::from_table(&table(0.0)?)?;
//! let current = Snapshot::from_table(&table(20.0)?)?;
//! let report = DriftReport::compute(&reference, &current, &DriftConfig::default())?;
//! assert!(report.dataset_drift);
//! println!("{report}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod drift;
mod error;
mod fairness;
mod kolmogorov;
mod monitor;
mod parallel;
mod sample;
mod snapshot;
mod sort;
mod stats;

pub use drift::{ColumnDrift, DriftConfig, DriftReport, DriftTest};
pub use error::{MonitorError, Result};
pub use fairness::{FairnessReport, GroupRates};
pub use monitor::{Alert, Monitor, MonitorConfig, OTHER_CATEGORY, Outputs, Window, WindowReport};
pub use sample::Sample;
pub use snapshot::{ColumnValues, Snapshot, SnapshotColumn};
pub use stats::{
    Bins, ChiSquaredTest, KsMethod, KsTest, PSI_EPSILON, chi2_contingency, jensen_shannon_distance,
    ks_2samp, ks_samples, psi, wasserstein_distance, wasserstein_samples,
};
