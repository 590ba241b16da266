//! The server's counters, rendered in Prometheus' text format (`GET /metrics`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Requests by route and status, latency by route, rows and batches.
#[derive(Debug)]
pub(crate) struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    rows: AtomicU64,
    unknown: Mutex<BTreeMap<String, u64>>,
    batches: AtomicU64,
    batch_rows: AtomicU64,
    started: Instant,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        Self {
            requests: Mutex::default(),
            latency: Mutex::default(),
            rows: AtomicU64::new(0),
            unknown: Mutex::default(),
            batches: AtomicU64::new(0),
            batch_rows: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    /// Counts a finished request.
    pub(crate) fn request(&self, route: &str, status: u16, took: Duration) {
        *self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((route.to_owned(), status))
            .or_insert(0) += 1;
        let seconds = took.as_secs_f64();
        let mut latency = self.latency.lock().unwrap_or_else(PoisonError::into_inner);
        let h = latency.entry(route.to_owned()).or_default();
        for (count, bound) in h.counts.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *count += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// Counts rows predicted for clients.
    pub(crate) fn rows(&self, n: usize) {
        self.rows.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts values of categories unseen in training, by column.
    pub(crate) fn unknown(&self, counts: &BTreeMap<String, u64>) {
        if counts.is_empty() {
            return;
        }
        let mut unknown = self.unknown.lock().unwrap_or_else(PoisonError::into_inner);
        for (column, n) in counts {
            *unknown.entry(column.clone()).or_insert(0) += n;
        }
    }

    /// Counts one forward pass of `rows` rows.
    pub(crate) fn batch(&self, rows: usize) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.batch_rows.fetch_add(rows as u64, Ordering::Relaxed);
    }

    /// The text exposition format, version 0.0.4; `extra` (the monitor's gauges) is appended.
    pub(crate) fn render(&self, extra: &str) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP kiln_http_requests_total HTTP requests by route and status.\n\
             # TYPE kiln_http_requests_total counter\n",
        );
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for ((route, status), n) in &requests {
            let _ = writeln!(
                out,
                "kiln_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        out.push_str(
            "# HELP kiln_http_request_errors_total HTTP requests answered with a 4xx or 5xx, by \
             route.\n# TYPE kiln_http_request_errors_total counter\n",
        );
        let mut errors: BTreeMap<&str, u64> = BTreeMap::new();
        for ((route, status), n) in &requests {
            let e = errors.entry(route).or_insert(0);
            if *status >= 400 {
                *e += n;
            }
        }
        for (route, n) in errors {
            let _ = writeln!(
                out,
                "kiln_http_request_errors_total{{route=\"{}\"}} {n}",
                escape(route)
            );
        }
        out.push_str(
            "# HELP kiln_http_request_duration_seconds Time from request to response, by route.\n\
             # TYPE kiln_http_request_duration_seconds histogram\n",
        );
        let latency = self
            .latency
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for (route, h) in &latency {
            let route = escape(route);
            for (count, bound) in h.counts.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "kiln_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "kiln_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\n\
                 kiln_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\n\
                 kiln_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count, h.sum, h.count
            );
        }
        let _ = write!(
            out,
            "# HELP kiln_rows_predicted_total Rows predicted for clients.\n\
             # TYPE kiln_rows_predicted_total counter\n\
             kiln_rows_predicted_total {}\n\
             # HELP kiln_batches_total Forward passes of the model.\n\
             # TYPE kiln_batches_total counter\n\
             kiln_batches_total {}\n\
             # HELP kiln_batch_rows_total Rows run through the model, over all forward passes.\n\
             # TYPE kiln_batch_rows_total counter\n\
             kiln_batch_rows_total {}\n\
             # HELP kiln_uptime_seconds Seconds since the server started.\n\
             # TYPE kiln_uptime_seconds gauge\n\
             kiln_uptime_seconds {}\n",
            self.rows.load(Ordering::Relaxed),
            self.batches.load(Ordering::Relaxed),
            self.batch_rows.load(Ordering::Relaxed),
            self.started.elapsed().as_secs_f64(),
        );
        out.push_str(
            "# HELP kiln_unknown_categories_total Values of categories unseen in training \
             (encoded as all zeros), by column.\n\
             # TYPE kiln_unknown_categories_total counter\n",
        );
        for (column, n) in self
            .unknown
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "kiln_unknown_categories_total{{column=\"{}\"}} {n}",
                escape(column)
            );
        }
        out.push_str(extra);
        out
    }
}

/// A label value with `\`, `"` and newlines escaped.
pub(crate) fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
