//! Kiln's experiment tracking: runs with params, metrics (step series with timestamps), tags,
//! artifacts and status; a local file store and an MLflow REST client behind one [`Store`]
//! trait; a [`Tracker`] whose [`Run`]s never stop training when the store fails; and
//! self-contained HTML [`Report`]s. No Burn dependency.
//!
//! ```
//! use kiln_track::{Report, RunStatus, Store, Tracker};
//!
//! let dir = tempfile::tempdir()?;
//! let tracker = Tracker::local(dir.path());
//! let run = tracker.start_run("mnist", "mlp-lr-0.01");
//! run.log_param("lr", 0.01);
//! for epoch in 1..=3 {
//!     run.log_metric("valid_accuracy", epoch, 0.9 + 0.01 * epoch as f64);
//! }
//! run.finish(RunStatus::Finished);
//!
//! let runs = tracker.store().runs(Some("mnist"))?;
//! assert_eq!(runs[0].metrics["valid_accuracy"].len(), 3);
//! Report::from_store(tracker.store().as_ref(), None)?.write(dir.path().join("report.html"))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod local;
mod mlflow;
mod record;
mod report;
mod store;
mod svg;
mod tracker;

pub use error::{Result, TrackError};
pub use local::{DEFAULT_DIR, LocalStore};
pub use mlflow::MlflowStore;
pub use record::{Batch, MetricPoint, RunRecord, RunStatus, now_ms};
pub use report::{DIRECTION_TAG, OBJECTIVE, Report, STUDY_TAG};
pub use store::Store;
pub use tracker::{CONFUSION_MATRIX, Run, Tracker};
