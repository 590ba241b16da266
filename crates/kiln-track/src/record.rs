//! What a run is: its status, params, tags, metric series and artifacts.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Result, TrackError};

/// A run's lifecycle state (MLflow's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    /// Still going (or its process died without saying so: see [`RunRecord::status`]).
    Running,
    /// Ended normally.
    Finished,
    /// Ended with an error.
    Failed,
    /// Stopped from outside, or found RUNNING after its process had died.
    Killed,
}

impl RunStatus {
    /// MLflow's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Finished => "FINISHED",
            Self::Failed => "FAILED",
            Self::Killed => "KILLED",
        }
    }
}

/// One value of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricPoint {
    /// The step (epoch, trial number, …).
    pub step: u64,
    /// The value.
    pub value: f64,
    /// Milliseconds since the Unix epoch when it was logged.
    pub timestamp: i64,
}

/// Everything stored about one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Unique id.
    pub id: String,
    /// The experiment it belongs to.
    pub experiment: String,
    /// A readable name.
    pub name: String,
    /// Its state.
    pub status: RunStatus,
    /// Start, ms since the Unix epoch.
    pub start_time: i64,
    /// End, when it ended.
    pub end_time: Option<i64>,
    /// Parameters (values as text, as MLflow stores them).
    pub params: BTreeMap<String, String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Metric series by key, in logging order.
    pub metrics: BTreeMap<String, Vec<MetricPoint>>,
    /// Artifact names.
    pub artifacts: Vec<String>,
}

impl RunRecord {
    /// The last value of a metric.
    pub fn last(&self, key: &str) -> Option<f64> {
        self.metrics.get(key)?.last().map(|p| p.value)
    }

    /// Seconds from start to end (or to the last metric, for a running run).
    pub fn duration(&self) -> Option<f64> {
        let end = self.end_time.or_else(|| {
            self.metrics
                .values()
                .filter_map(|s| s.last().map(|p| p.timestamp))
                .max()
        })?;
        Some((end - self.start_time) as f64 / 1000.0)
    }
}

/// Params, metrics and tags to write in one call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Parameters.
    pub params: Vec<(String, String)>,
    /// Metric values.
    pub metrics: Vec<(String, MetricPoint)>,
    /// Tags.
    pub tags: Vec<(String, String)>,
}

impl Batch {
    /// Entries in it.
    pub fn len(&self) -> usize {
        self.params.len() + self.metrics.len() + self.tags.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves `other`'s entries to the end of this batch.
    pub fn append(&mut self, other: &mut Batch) {
        self.params.append(&mut other.params);
        self.metrics.append(&mut other.metrics);
        self.tags.append(&mut other.tags);
    }
}

/// Now, in ms since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Checks a name used as a directory or key: non-empty, at most 250 characters (MLflow's
/// limit), no path separators, not `.` or `..`.
pub(crate) fn check_name(what: &'static str, name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.len() > 250 {
        "it is longer than 250 characters"
    } else if name.contains(['/', '\\', '\0']) {
        "it contains a path separator"
    } else if name == "." || name == ".." {
        "it is a relative path"
    } else {
        return Ok(());
    };
    Err(TrackError::InvalidName {
        what,
        name: name.to_owned(),
        reason: format!("{reason}; use letters, digits, `-`, `_`, `.` or spaces"),
    })
}

/// A new run id: 32 hex digits from the time, the process and per-process randomness.
pub(crate) fn new_run_id() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let a = h.finish();
    h.write_u64(a);
    format!("{a:016x}{:016x}", h.finish())
}
