//! The bundle's [`Monitor`] watching live traffic: each request's rows feed its windows, labels
//! sent to `/feedback` count toward accuracy, closed windows are logged (a JSON line each, to a
//! file when one is set, a summary line to stderr) and kept for `/monitor` and `/metrics`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use kiln_data::Table;
use kiln_monitor::{Alert, Monitor, Outputs, WindowReport};
use kiln_train::Predictions;
use serde_json::{Value, json};

use crate::serve::error::{ApiError, Result, ServeError};
use crate::serve::metrics::escape;

/// Closed windows kept for `/monitor`.
const KEEP_WINDOWS: usize = 32;
/// Requests whose predictions are kept for `/feedback` by id.
const KEEP_REQUESTS: usize = 10_000;

/// What a request predicted, kept until its labels arrive.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Predicted {
    Classes(Vec<String>),
    Values(Vec<f64>),
}

impl Predicted {
    pub(crate) fn of(predictions: &Predictions) -> Self {
        match predictions {
            Predictions::Classes { .. } => Self::Classes(predictions.labels()),
            Predictions::Values(v) => Self::Values(v.clone()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::Classes(c) => c.len(),
            Self::Values(v) => v.len(),
        }
    }

    fn outputs(&self) -> Outputs<'_> {
        match self {
            Self::Classes(c) => Outputs::Classes(c),
            Self::Values(v) => Outputs::Values(v),
        }
    }
}

#[derive(Debug, Default)]
struct Recent {
    by_id: HashMap<u64, Predicted>,
    order: VecDeque<u64>,
}

#[derive(Debug, Default)]
struct Closed {
    windows: VecDeque<WindowReport>,
    total: u64,
    alerts: BTreeMap<String, u64>,
}

/// The live monitor (or why there is none) and what it has closed.
pub(crate) struct Live {
    monitor: Mutex<Option<Monitor>>,
    disabled: Option<String>,
    closed: Mutex<Closed>,
    log: Option<(PathBuf, Mutex<std::fs::File>)>,
    recent: Mutex<Recent>,
    next_id: AtomicU64,
}

impl Live {
    pub(crate) fn new(
        monitor: std::result::Result<Monitor, String>,
        log: Option<PathBuf>,
    ) -> Result<Self> {
        let log = match log {
            Some(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|source| ServeError::Log {
                        path: path.clone(),
                        source,
                    })?;
                Some((path, Mutex::new(file)))
            }
            None => None,
        };
        let (monitor, disabled) = match monitor {
            Ok(m) => (Some(m), None),
            Err(why) => (None, Some(why)),
        };
        Ok(Self {
            monitor: Mutex::new(monitor),
            disabled,
            closed: Mutex::default(),
            log,
            recent: Mutex::default(),
            next_id: AtomicU64::new(1),
        })
    }

    /// Keeps a request's predictions for `/feedback` and returns the request's id.
    pub(crate) fn remember(&self, predicted: Predicted) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        recent.by_id.insert(id, predicted);
        recent.order.push_back(id);
        while recent.order.len() > KEEP_REQUESTS {
            if let Some(old) = recent.order.pop_front() {
                recent.by_id.remove(&old);
            }
        }
        id
    }

    /// Feeds a request's rows and predictions to the monitor.
    pub(crate) fn observe(&self, rows: &Table, predicted: &Predicted) {
        let reports = {
            let mut monitor = self.monitor.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(monitor) = monitor.as_mut() else {
                return;
            };
            monitor.observe(rows, predicted.outputs())
        };
        match reports {
            Ok(reports) => reports.into_iter().for_each(|r| self.record(r)),
            // The rows passed the schema's checks, so this is the monitor's own failure: it
            // must not fail the client's request.
            Err(e) => eprintln!("kiln serve: monitor: {e}"),
        }
    }

    /// Labels for earlier predictions: by request id, or with the predictions themselves.
    pub(crate) fn feedback(&self, body: &Value) -> Result<Value, ApiError> {
        let labels = body
            .get("labels")
            .and_then(Value::as_array)
            .ok_or_else(|| ApiError::field("labels", "send `labels`: an array, one per row"))?;
        let predicted = match (body.get("request_id"), body.get("predictions")) {
            (Some(id), None) => {
                let id = id
                    .as_u64()
                    .or_else(|| id.as_str().and_then(|s| s.parse().ok()))
                    .ok_or_else(|| {
                        ApiError::field(
                            "request_id",
                            "expected the `x-request-id` of a prediction response",
                        )
                    })?;
                self.recent
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .by_id
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| {
                        ApiError::field(
                            "request_id",
                            format!(
                                "no recent request {id} (the last {KEEP_REQUESTS} are kept); \
                                 send `predictions` with the labels instead"
                            ),
                        )
                    })?
            }
            (None, Some(Value::Array(p))) => {
                if p.iter().all(Value::is_number) {
                    Predicted::Values(p.iter().filter_map(Value::as_f64).collect())
                } else {
                    Predicted::Classes(p.iter().map(label_text).collect::<Result<_, _>>()?)
                }
            }
            _ => {
                return Err(ApiError::bad_request(
                    "send exactly one of `request_id` (from a response's `x-request-id` header) \
                     or `predictions`, with `labels`",
                ));
            }
        };
        if labels.len() != predicted.len() {
            return Err(ApiError::field(
                "labels",
                format!(
                    "{} labels for {} predictions; send one label per predicted row",
                    labels.len(),
                    predicted.len()
                ),
            ));
        }
        let actual = match &predicted {
            Predicted::Classes(_) => {
                Predicted::Classes(labels.iter().map(label_text).collect::<Result<_, _>>()?)
            }
            Predicted::Values(_) => Predicted::Values(
                labels
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        v.as_f64().filter(|x| x.is_finite()).ok_or_else(|| {
                            ApiError::field(
                                "labels",
                                format!(
                                    "label {i} is not a finite number; this model predicts values"
                                ),
                            )
                        })
                    })
                    .collect::<Result<_, _>>()?,
            ),
        };
        let mut monitor = self.monitor.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(monitor) = monitor.as_mut() else {
            return Err(ApiError::bad_request(format!(
                "this server has no monitor ({}), so labels are not tracked",
                self.disabled.as_deref().unwrap_or("disabled")
            )));
        };
        monitor
            .observe_labels(predicted.outputs(), actual.outputs())
            .map_err(|e| ApiError::field("labels", e.to_string()))?;
        Ok(json!({"labeled": labels.len(), "window": monitor.window_index()}))
    }

    /// Closes a time window whose time is up.
    pub(crate) fn tick(&self) {
        let report = {
            let mut monitor = self.monitor.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(monitor) = monitor.as_mut() else {
                return;
            };
            monitor.tick(SystemTime::now())
        };
        match report {
            Ok(Some(r)) => self.record(r),
            Ok(None) => {}
            Err(e) => eprintln!("kiln serve: monitor: {e}"),
        }
    }

    /// Closes the open window (at shutdown) and syncs the log.
    pub(crate) fn flush(&self) -> Result<()> {
        let report = {
            let mut monitor = self.monitor.lock().unwrap_or_else(PoisonError::into_inner);
            match monitor.as_mut() {
                Some(m) => m.flush()?,
                None => None,
            }
        };
        if let Some(r) = report {
            self.record(r);
        }
        if let Some((path, file)) = &self.log {
            file.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .sync_all()
                .map_err(|source| ServeError::Log {
                    path: path.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    fn record(&self, report: WindowReport) {
        eprintln!(
            "kiln serve: window {} closed: {} rows, {} of {} columns drifted{}{}{}",
            report.window,
            report.rows,
            report.features.drifted_columns,
            report.features.columns.len(),
            report
                .predictions
                .as_ref()
                .map_or(String::new(), |p| format!(
                    ", predictions {}",
                    if p.drifted { "drifted" } else { "stable" }
                )),
            report
                .accuracy
                .map_or(String::new(), |a| format!(", accuracy {a:.4}")),
            if report.alerts.is_empty() {
                String::new()
            } else {
                format!(", {} alert(s)", report.alerts.len())
            }
        );
        if let Some((path, file)) = &self.log {
            match serde_json::to_string(&report) {
                Ok(line) => {
                    let mut file = file.lock().unwrap_or_else(PoisonError::into_inner);
                    if let Err(e) = writeln!(file, "{line}") {
                        eprintln!("kiln serve: monitor log {}: {e}", path.display());
                    }
                }
                Err(e) => eprintln!("kiln serve: monitor log: {e}"),
            }
        }
        let mut closed = self.closed.lock().unwrap_or_else(PoisonError::into_inner);
        closed.total += 1;
        for alert in &report.alerts {
            *closed
                .alerts
                .entry(alert_kind(alert).to_owned())
                .or_insert(0) += 1;
        }
        closed.windows.push_back(report);
        while closed.windows.len() > KEEP_WINDOWS {
            closed.windows.pop_front();
        }
    }

    /// `GET /monitor`: the open window and the last closed ones.
    pub(crate) fn to_json(&self) -> Value {
        if let Some(why) = &self.disabled {
            return json!({"enabled": false, "reason": why});
        }
        let (index, rows) = {
            let monitor = self.monitor.lock().unwrap_or_else(PoisonError::into_inner);
            monitor
                .as_ref()
                .map_or((0, 0), |m| (m.window_index(), m.window_rows()))
        };
        let closed = self.closed.lock().unwrap_or_else(PoisonError::into_inner);
        json!({
            "enabled": true,
            "open_window": {"window": index, "rows": rows},
            "windows_closed": closed.total,
            "alerts": closed.alerts,
            "closed": closed.windows,
            "log": self.log.as_ref().map(|(p, _)| p.display().to_string()),
        })
    }

    /// The monitor's gauges in Prometheus' text format.
    pub(crate) fn render_metrics(&self) -> String {
        let mut out = String::new();
        let enabled = u8::from(self.disabled.is_none());
        let rows = self
            .monitor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map_or(0, Monitor::window_rows);
        let closed = self.closed.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = write!(
            out,
            "# HELP kiln_monitor_enabled Whether the bundle's monitor is watching requests.\n\
             # TYPE kiln_monitor_enabled gauge\nkiln_monitor_enabled {enabled}\n\
             # HELP kiln_monitor_window_rows Rows in the open window.\n\
             # TYPE kiln_monitor_window_rows gauge\nkiln_monitor_window_rows {rows}\n\
             # HELP kiln_monitor_windows_total Windows closed.\n\
             # TYPE kiln_monitor_windows_total counter\nkiln_monitor_windows_total {}\n\
             # HELP kiln_monitor_alerts_total Alerts raised, by kind.\n\
             # TYPE kiln_monitor_alerts_total counter\n",
            closed.total
        );
        for kind in ["dataset_drift", "prediction_drift", "performance_drop"] {
            let _ = writeln!(
                out,
                "kiln_monitor_alerts_total{{kind=\"{kind}\"}} {}",
                closed.alerts.get(kind).copied().unwrap_or(0)
            );
        }
        let Some(last) = closed.windows.back() else {
            return out;
        };
        let _ = write!(
            out,
            "# HELP kiln_monitor_drift_score Each input column's drift score in the last closed \
             window (the test's statistic or p-value; see `kiln_monitor_drifted`).\n\
             # TYPE kiln_monitor_drift_score gauge\n"
        );
        for c in &last.features.columns {
            let _ = writeln!(
                out,
                "kiln_monitor_drift_score{{column=\"{}\"}} {}",
                escape(&c.column),
                c.score
            );
        }
        let _ = write!(
            out,
            "# HELP kiln_monitor_drifted Whether each input column drifted in the last closed \
             window.\n# TYPE kiln_monitor_drifted gauge\n"
        );
        for c in &last.features.columns {
            let _ = writeln!(
                out,
                "kiln_monitor_drifted{{column=\"{}\"}} {}",
                escape(&c.column),
                u8::from(c.drifted)
            );
        }
        let _ = write!(
            out,
            "# HELP kiln_monitor_dataset_drift Whether the last closed window counted as drifted.\n\
             # TYPE kiln_monitor_dataset_drift gauge\nkiln_monitor_dataset_drift {}\n\
             # HELP kiln_monitor_drifted_share Share of input columns drifted in the last closed \
             window.\n# TYPE kiln_monitor_drifted_share gauge\nkiln_monitor_drifted_share {}\n",
            u8::from(last.features.dataset_drift),
            last.features.drifted_share
        );
        if let Some(p) = &last.predictions {
            let _ = write!(
                out,
                "# HELP kiln_monitor_prediction_drift_score The predictions' drift score in the \
                 last closed window.\n# TYPE kiln_monitor_prediction_drift_score gauge\n\
                 kiln_monitor_prediction_drift_score {}\n",
                p.score
            );
        }
        if let Some(a) = last.accuracy {
            let _ = write!(
                out,
                "# HELP kiln_monitor_accuracy Accuracy on the labels received in the last closed \
                 window.\n# TYPE kiln_monitor_accuracy gauge\nkiln_monitor_accuracy {a}\n"
            );
        }
        if let Some(m) = last.mae {
            let _ = write!(
                out,
                "# HELP kiln_monitor_mae Mean absolute error on the labels received in the last \
                 closed window.\n# TYPE kiln_monitor_mae gauge\nkiln_monitor_mae {m}\n"
            );
        }
        out
    }
}

fn label_text(v: &Value) -> Result<String, ApiError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(ApiError::field(
            "labels",
            format!(
                "expected class names, got {}",
                crate::serve::schema::short(other)
            ),
        )),
    }
}

fn alert_kind(alert: &Alert) -> &'static str {
    match alert {
        Alert::DatasetDrift { .. } => "dataset_drift",
        Alert::PredictionDrift { .. } => "prediction_drift",
        Alert::PerformanceDrop { .. } => "performance_drop",
        _ => "other",
    }
}
