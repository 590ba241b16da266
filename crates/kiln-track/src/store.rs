//! The [`Store`] trait: where runs are written and read.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::record::{Batch, RunRecord, RunStatus};

/// A place runs are kept: the local directory store ([`LocalStore`](crate::LocalStore)) or an
/// MLflow server ([`MlflowStore`](crate::MlflowStore)). Implementations are shared between
/// threads; several processes may write different runs to one store at once.
pub trait Store: Send + Sync {
    /// Creates a run (and its experiment, when new) and returns the run's id.
    fn create_run(
        &self,
        experiment: &str,
        name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String>;

    /// Adds params, metric values and tags to a run.
    fn log_batch(&self, run: &str, batch: &Batch) -> Result<()>;

    /// Sets a run's status, and its end time when it ended.
    fn set_status(&self, run: &str, status: RunStatus, end_time: Option<i64>) -> Result<()>;

    /// Stores a file with a run.
    fn log_artifact(&self, run: &str, name: &str, bytes: &[u8]) -> Result<()>;

    /// Reads an artifact back.
    fn artifact(&self, run: &str, name: &str) -> Result<Vec<u8>>;

    /// One run.
    fn run(&self, id: &str) -> Result<RunRecord>;

    /// The runs of one experiment, or of all, oldest first.
    fn runs(&self, experiment: Option<&str>) -> Result<Vec<RunRecord>>;

    /// A short description for messages (a path or a URL).
    fn describe(&self) -> String;
}
