//! [`MlflowStore`]: runs on an MLflow tracking server, over its REST API.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};

use crate::error::{Result, TrackError};
use crate::record::{Batch, MetricPoint, RunRecord, RunStatus, check_name, now_ms};
use crate::store::Store;

/// MLflow's limits per `runs/log-batch` request.
const MAX_METRICS: usize = 1000;
const MAX_PARAMS: usize = 100;
const MAX_TAGS: usize = 100;
const MAX_ENTRIES: usize = 1000;

/// An MLflow tracking server (`mlflow server`), through its REST API (`/api/2.0/mlflow/…`):
/// experiments are created or found by name, runs created and updated, params, metrics and
/// tags sent with `runs/log-batch` in chunks within MLflow's limits (1000 metrics, 100
/// params, 100 tags, 1000 entries per request), artifacts through the server's artifact
/// proxy (`mlflow-artifacts:` URIs, the default of `mlflow server`).
#[derive(Debug)]
pub struct MlflowStore {
    base: String,
    agent: ureq::Agent,
    experiments: Mutex<BTreeMap<String, String>>,
}

impl MlflowStore {
    /// A store on the server at `url` (e.g. `http://127.0.0.1:5000`); requests time out after
    /// 10 s.
    pub fn new(url: &str) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build();
        Self {
            base: url.trim_end_matches('/').to_owned(),
            agent: ureq::Agent::new_with_config(config),
            experiments: Mutex::new(BTreeMap::new()),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/2.0/{path}", self.base)
    }

    fn check(url: &str, response: ureq::http::Response<ureq::Body>) -> Result<Value> {
        let status = response.status().as_u16();
        let text = response
            .into_body()
            .read_to_string()
            .map_err(|e| TrackError::Http {
                url: url.to_owned(),
                source: Box::new(e),
            })?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let message = match (&body["error_code"], &body["message"]) {
            (Value::String(code), Value::String(m)) => format!("{code}: {m}"),
            _ => body.to_string(),
        };
        Err(TrackError::Server {
            url: url.to_owned(),
            status,
            message,
        })
    }

    fn post(&self, path: &str, body: &Value) -> Result<Value> {
        let url = self.url(path);
        let response = self
            .agent
            .post(&url)
            .content_type("application/json")
            .send(body.to_string())
            .map_err(|e| TrackError::Http {
                url: url.clone(),
                source: Box::new(e),
            })?;
        Self::check(&url, response)
    }

    fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value> {
        let url = self.url(path);
        let mut request = self.agent.get(&url);
        for (k, v) in query {
            request = request.query(*k, *v);
        }
        let response = request.call().map_err(|e| TrackError::Http {
            url: url.clone(),
            source: Box::new(e),
        })?;
        Self::check(&url, response)
    }

    /// The id of an experiment, created when missing.
    pub fn experiment_id(&self, name: &str) -> Result<String> {
        check_name("experiment", name)?;
        if let Some(id) = self.experiments.lock().expect("lock").get(name) {
            return Ok(id.clone());
        }
        let id = match self.get(
            "mlflow/experiments/get-by-name",
            &[("experiment_name", name)],
        ) {
            Ok(v) => text(&v["experiment"]["experiment_id"]),
            Err(TrackError::Server { status: 404, .. }) => {
                match self.post("mlflow/experiments/create", &json!({ "name": name })) {
                    Ok(v) => text(&v["experiment_id"]),
                    // Another process created it first.
                    Err(TrackError::Server { .. }) => text(
                        &self.get(
                            "mlflow/experiments/get-by-name",
                            &[("experiment_name", name)],
                        )?["experiment"]["experiment_id"],
                    ),
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        self.experiments
            .lock()
            .expect("lock")
            .insert(name.to_owned(), id.clone());
        Ok(id)
    }

    fn experiment_name(&self, id: &str) -> Result<String> {
        if let Some((name, _)) = self
            .experiments
            .lock()
            .expect("lock")
            .iter()
            .find(|(_, v)| v.as_str() == id)
        {
            return Ok(name.clone());
        }
        let v = self.get("mlflow/experiments/get", &[("experiment_id", id)])?;
        let name = text(&v["experiment"]["name"]);
        self.experiments
            .lock()
            .expect("lock")
            .insert(name.clone(), id.to_owned());
        Ok(name)
    }

    fn record(&self, run: &Value) -> Result<RunRecord> {
        let info = &run["info"];
        let id = text(&info["run_id"]);
        let pairs = |v: &Value| -> BTreeMap<String, String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .map(|kv| (text(&kv["key"]), text(&kv["value"])))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut metrics = BTreeMap::new();
        for m in run["data"]["metrics"].as_array().into_iter().flatten() {
            let key = text(&m["key"]);
            let history = self.get(
                "mlflow/metrics/get-history",
                &[("run_id", &id), ("metric_key", &key)],
            )?;
            let mut points: Vec<MetricPoint> = history["metrics"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| MetricPoint {
                    step: number(&p["step"]) as u64,
                    value: number(&p["value"]),
                    timestamp: number(&p["timestamp"]) as i64,
                })
                .collect();
            points.sort_by_key(|p| (p.step, p.timestamp));
            metrics.insert(key, points);
        }
        let status = match info["status"].as_str() {
            Some("FINISHED") => RunStatus::Finished,
            Some("FAILED") => RunStatus::Failed,
            Some("KILLED") => RunStatus::Killed,
            _ => RunStatus::Running,
        };
        Ok(RunRecord {
            experiment: self.experiment_name(&text(&info["experiment_id"]))?,
            name: text(&info["run_name"]),
            status,
            start_time: number(&info["start_time"]) as i64,
            end_time: (!info["end_time"].is_null()).then(|| number(&info["end_time"]) as i64),
            params: pairs(&run["data"]["params"]),
            tags: pairs(&run["data"]["tags"])
                .into_iter()
                .filter(|(k, _)| !k.starts_with("mlflow."))
                .collect(),
            metrics,
            artifacts: Vec::new(),
            id,
        })
    }

    fn artifact_path(&self, run: &str, name: &str) -> Result<String> {
        check_name("artifact", name)?;
        let v = self.get("mlflow/runs/get", &[("run_id", run)])?;
        let uri = text(&v["run"]["info"]["artifact_uri"]);
        let Some(rest) = uri.strip_prefix("mlflow-artifacts:") else {
            return Err(TrackError::InvalidName {
                what: "artifact store",
                name: uri,
                reason: "Kiln uploads through the server's artifact proxy; start `mlflow server` \
                         with `--serve-artifacts` (its default)"
                    .into(),
            });
        };
        Ok(format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{}/{name}",
            self.base,
            rest.trim_start_matches('/')
        ))
    }
}

/// A JSON string or number as text (MLflow returns ids and times as either).
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn number(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap_or(f64::NAN),
        other => other.as_f64().unwrap_or(f64::NAN),
    }
}

impl Store for MlflowStore {
    fn create_run(
        &self,
        experiment: &str,
        name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String> {
        let experiment_id = self.experiment_id(experiment)?;
        let tags: Vec<Value> = tags
            .iter()
            .map(|(k, v)| json!({ "key": k, "value": v }))
            .collect();
        let v = self.post(
            "mlflow/runs/create",
            &json!({
                "experiment_id": experiment_id,
                "run_name": name,
                "start_time": now_ms(),
                "tags": tags,
            }),
        )?;
        Ok(text(&v["run"]["info"]["run_id"]))
    }

    fn log_batch(&self, run: &str, batch: &Batch) -> Result<()> {
        let (mut m, mut p, mut t) = (&batch.metrics[..], &batch.params[..], &batch.tags[..]);
        while !(m.is_empty() && p.is_empty() && t.is_empty()) {
            let np = p.len().min(MAX_PARAMS);
            let nt = t.len().min(MAX_TAGS);
            let nm = m.len().min(MAX_METRICS).min(MAX_ENTRIES - np - nt);
            let body = json!({
                "run_id": run,
                "metrics": m[..nm].iter().map(|(k, pt)| json!({
                    "key": k, "value": pt.value, "timestamp": pt.timestamp, "step": pt.step,
                })).collect::<Vec<_>>(),
                "params": p[..np].iter().map(|(k, v)| json!({ "key": k, "value": v })).collect::<Vec<_>>(),
                "tags": t[..nt].iter().map(|(k, v)| json!({ "key": k, "value": v })).collect::<Vec<_>>(),
            });
            self.post("mlflow/runs/log-batch", &body)?;
            (m, p, t) = (&m[nm..], &p[np..], &t[nt..]);
        }
        Ok(())
    }

    fn set_status(&self, run: &str, status: RunStatus, end_time: Option<i64>) -> Result<()> {
        let mut body = json!({ "run_id": run, "status": status.as_str() });
        if let Some(end) = end_time {
            body["end_time"] = json!(end);
        }
        self.post("mlflow/runs/update", &body).map(drop)
    }

    fn log_artifact(&self, run: &str, name: &str, bytes: &[u8]) -> Result<()> {
        let url = self.artifact_path(run, name)?;
        let response = self
            .agent
            .put(&url)
            .send(bytes)
            .map_err(|e| TrackError::Http {
                url: url.clone(),
                source: Box::new(e),
            })?;
        Self::check(&url, response).map(drop)
    }

    fn artifact(&self, run: &str, name: &str) -> Result<Vec<u8>> {
        let url = self.artifact_path(run, name)?;
        let response = self.agent.get(&url).call().map_err(|e| TrackError::Http {
            url: url.clone(),
            source: Box::new(e),
        })?;
        if !response.status().is_success() {
            return Self::check(&url, response).map(|_| Vec::new());
        }
        response
            .into_body()
            .read_to_vec()
            .map_err(|e| TrackError::Http {
                url,
                source: Box::new(e),
            })
    }

    fn run(&self, id: &str) -> Result<RunRecord> {
        let v = self.get("mlflow/runs/get", &[("run_id", id)])?;
        self.record(&v["run"])
    }

    fn runs(&self, experiment: Option<&str>) -> Result<Vec<RunRecord>> {
        let ids: Vec<String> = match experiment {
            Some(e) => vec![self.experiment_id(e)?],
            None => self.post("mlflow/experiments/search", &json!({ "max_results": 1000 }))?
                ["experiments"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| text(&e["experiment_id"]))
                .collect(),
        };
        // Pages of up to 1000 runs, following `next_page_token`.
        let mut runs = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({ "experiment_ids": ids, "max_results": 1000 });
            if let Some(t) = &token {
                body["page_token"] = json!(t);
            }
            let v = self.post("mlflow/runs/search", &body)?;
            for r in v["runs"].as_array().into_iter().flatten() {
                runs.push(self.record(r)?);
            }
            match v["next_page_token"].as_str() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        runs.sort_by(|a, b| (a.start_time, &a.id).cmp(&(b.start_time, &b.id)));
        Ok(runs)
    }

    fn describe(&self) -> String {
        self.base.clone()
    }
}
