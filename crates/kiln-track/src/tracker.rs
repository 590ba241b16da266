//! [`Tracker`] and [`Run`]: logging that never stops training.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::error::TrackError;
use crate::local::LocalStore;
use crate::mlflow::MlflowStore;
use crate::record::{Batch, MetricPoint, RunStatus, now_ms};
use crate::store::Store;

/// Entries a run buffers before it writes them.
const FLUSH_AT: usize = 100;

/// Starts runs in a [`Store`]. Cheap to clone; clones share the store.
#[derive(Clone)]
pub struct Tracker {
    store: Arc<dyn Store>,
    max_buffer: usize,
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker")
            .field("store", &self.store.describe())
            .finish_non_exhaustive()
    }
}

impl Tracker {
    /// A tracker over any store.
    pub fn new(store: impl Store + 'static) -> Self {
        Self {
            store: Arc::new(store),
            max_buffer: 100_000,
        }
    }

    /// A tracker writing to a local directory (see [`LocalStore`]).
    pub fn local(dir: impl Into<PathBuf>) -> Self {
        Self::new(LocalStore::new(dir))
    }

    /// A tracker writing to an MLflow server (see [`MlflowStore`]).
    pub fn mlflow(url: &str) -> Self {
        Self::new(MlflowStore::new(url))
    }

    /// How many entries a run keeps while its store fails (default 100,000); past that, the
    /// oldest metric values are dropped and counted.
    pub fn with_max_buffer(mut self, entries: usize) -> Self {
        self.max_buffer = entries;
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Starts a run. This never fails: if the store cannot create it now, the run buffers
    /// what it is given and tries again at each flush (see [`Run`]).
    pub fn start_run(&self, experiment: &str, name: &str) -> Run {
        self.start_run_with_tags(experiment, name, BTreeMap::new())
    }

    /// [`start_run`](Self::start_run) with tags.
    pub fn start_run_with_tags(
        &self,
        experiment: &str,
        name: &str,
        tags: BTreeMap<String, String>,
    ) -> Run {
        let mut inner = Inner {
            store: self.store.clone(),
            experiment: experiment.to_owned(),
            name: name.to_owned(),
            tags,
            id: None,
            pending: Batch::default(),
            max_buffer: self.max_buffer,
            dropped: 0,
            failing: false,
            last_error: None,
            finished: false,
        };
        inner.ensure_created();
        Run {
            inner: Arc::new(Mutex::new(inner)),
        }
    }
}

struct Inner {
    store: Arc<dyn Store>,
    experiment: String,
    name: String,
    tags: BTreeMap<String, String>,
    id: Option<String>,
    pending: Batch,
    max_buffer: usize,
    dropped: u64,
    failing: bool,
    last_error: Option<String>,
    finished: bool,
}

impl Inner {
    fn ensure_created(&mut self) -> bool {
        if self.id.is_some() {
            return true;
        }
        match self
            .store
            .create_run(&self.experiment, &self.name, &self.tags)
        {
            Ok(id) => {
                self.id = Some(id);
                true
            }
            Err(e) => {
                self.failed(&e);
                false
            }
        }
    }

    /// Reports the first failure of a stretch once (see [`warn`]).
    fn failed(&mut self, e: &TrackError) {
        if !self.failing {
            warn(format_args!(
                "kiln-track: cannot write run `{}` to {}: {e}; keeping up to {} entries and \
                 retrying at each flush (training goes on)",
                self.name,
                self.store.describe(),
                self.max_buffer
            ));
        }
        self.failing = true;
        self.last_error = Some(e.to_string());
    }

    fn flush(&mut self) {
        if self.pending.is_empty() || !self.ensure_created() {
            self.trim();
            return;
        }
        let id = self.id.clone().expect("created");
        match self.store.log_batch(&id, &self.pending) {
            Ok(()) => {
                self.pending = Batch::default();
                if self.failing {
                    warn(format_args!(
                        "kiln-track: run `{}` writes to {} again",
                        self.name,
                        self.store.describe()
                    ));
                }
                self.failing = false;
            }
            Err(e) => {
                self.failed(&e);
                self.trim();
            }
        }
    }

    /// Keeps the buffer bounded: drops the oldest metric values beyond `max_buffer`.
    fn trim(&mut self) {
        let over = self.pending.len().saturating_sub(self.max_buffer);
        if over > 0 {
            let n = over.min(self.pending.metrics.len());
            self.pending.metrics.drain(..n);
            self.dropped += n as u64;
        }
    }

    fn push(&mut self, mut batch: Batch) {
        if self.finished {
            return;
        }
        self.pending.append(&mut batch);
        if self.pending.len() >= FLUSH_AT {
            self.flush();
        }
    }

    fn finish(&mut self, status: RunStatus) {
        if self.finished {
            return;
        }
        self.flush();
        if let Some(id) = self.id.clone()
            && let Err(e) = self.store.set_status(&id, status, Some(now_ms()))
        {
            self.failed(&e);
        }
        let lost = self.dropped + self.pending.len() as u64;
        if lost > 0 {
            warn(format_args!(
                "kiln-track: run `{}` ended with {lost} entries not written to {}",
                self.name,
                self.store.describe()
            ));
        }
        self.finished = true;
    }
}

/// A run being logged. Methods never fail: entries are buffered and written in batches (every
/// 100 entries, at [`flush`](Self::flush) and at the end). When the store fails, the first
/// error of a stretch is printed once on stderr, entries stay buffered (up to
/// [`Tracker::with_max_buffer`]; then the oldest metric values are dropped and counted) and the
/// next flush retries. Clones share the run (e.g. a trainer observer and the caller).
/// Dropping the last clone without [`finish`](Self::finish) ends the run as
/// [`RunStatus::Failed`], as MLflow does for a run left by an error.
#[derive(Clone)]
pub struct Run {
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("id", &self.id())
            .finish_non_exhaustive()
    }
}

impl Run {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut guard = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    /// The run's id in the store, once created.
    pub fn id(&self) -> Option<String> {
        self.with(|i| i.id.clone())
    }

    /// The last store error, if writes are failing now.
    pub fn last_error(&self) -> Option<String> {
        self.with(|i| i.failing.then(|| i.last_error.clone()).flatten())
    }

    /// Metric values dropped because the buffer was full while the store failed.
    pub fn dropped(&self) -> u64 {
        self.with(|i| i.dropped)
    }

    /// Logs a parameter.
    pub fn log_param(&self, key: &str, value: impl ToString) {
        self.with(|i| {
            i.push(Batch {
                params: vec![(key.to_owned(), value.to_string())],
                ..Batch::default()
            })
        });
    }

    /// Logs several parameters.
    pub fn log_params<K: ToString, V: ToString>(&self, params: impl IntoIterator<Item = (K, V)>) {
        let params = params
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.with(|i| {
            i.push(Batch {
                params,
                ..Batch::default()
            })
        });
    }

    /// Logs a metric value at a step (non-finite values are logged as they are; MLflow
    /// accepts NaN and ±inf).
    pub fn log_metric(&self, key: &str, step: u64, value: f64) {
        self.log_metrics(step, [(key, value)]);
    }

    /// Logs several metrics at one step.
    pub fn log_metrics<K: ToString>(&self, step: u64, metrics: impl IntoIterator<Item = (K, f64)>) {
        let timestamp = now_ms();
        let metrics = metrics
            .into_iter()
            .map(|(k, value)| {
                (
                    k.to_string(),
                    MetricPoint {
                        step,
                        value,
                        timestamp,
                    },
                )
            })
            .collect();
        self.with(|i| {
            i.push(Batch {
                metrics,
                ..Batch::default()
            })
        });
    }

    /// Sets a tag.
    pub fn set_tag(&self, key: &str, value: impl ToString) {
        self.with(|i| {
            i.push(Batch {
                tags: vec![(key.to_owned(), value.to_string())],
                ..Batch::default()
            })
        });
    }

    /// Stores a file with the run (written at once; a failure is reported like any other).
    pub fn log_artifact(&self, name: &str, bytes: &[u8]) {
        self.with(|i| {
            if !i.ensure_created() {
                return;
            }
            let id = i.id.clone().expect("created");
            if let Err(e) = i.store.log_artifact(&id, name, bytes) {
                i.failed(&e);
            }
        });
    }

    /// Stores a confusion matrix (`confusion_matrix.json`: `labels` and `counts[true][predicted]`),
    /// which reports draw.
    pub fn log_confusion_matrix(&self, labels: &[String], counts: &[Vec<u64>]) {
        let json = serde_json::json!({ "labels": labels, "counts": counts });
        self.log_artifact(CONFUSION_MATRIX, json.to_string().as_bytes());
    }

    /// Writes what is buffered now.
    pub fn flush(&self) {
        self.with(Inner::flush);
    }

    /// Writes what is buffered and ends the run with `status`.
    pub fn finish(&self, status: RunStatus) {
        self.with(|i| i.finish(status));
    }
}

/// The artifact name of a run's confusion matrix.
pub const CONFUSION_MATRIX: &str = "confusion_matrix.json";

impl Drop for Inner {
    fn drop(&mut self) {
        self.finish(RunStatus::Failed);
    }
}

/// A tracking problem, through the `log` facade at warn level when the program installed a
/// logger, else on stderr, so it is seen either way (once per stretch of failures).
fn warn(message: std::fmt::Arguments<'_>) {
    if log::max_level() == log::LevelFilter::Off {
        eprintln!("{message}");
    } else {
        log::warn!(target: "kiln_track", "{message}");
    }
}
