//! [`LocalStore`]: runs as plain files in a directory (the default, `./kiln-runs`).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Result, TrackError, io};
use crate::record::{Batch, MetricPoint, RunRecord, RunStatus, check_name, new_run_id, now_ms};
use crate::store::Store;

/// The default directory for local runs.
pub const DEFAULT_DIR: &str = "kiln-runs";

/// Runs kept as files:
///
/// ```text
/// kiln-runs/<experiment>/<run id>/run.json       status, times, params, tags, pid and host
/// kiln-runs/<experiment>/<run id>/metrics.jsonl  one metric value per line, appended
/// kiln-runs/<experiment>/<run id>/artifacts/     files logged with the run
/// ```
///
/// Each run has its own directory and is written only by the process that created it, so
/// many processes can log different runs into one store at once. `run.json` is replaced
/// atomically (write, then rename); metric lines are appended. A run still RUNNING whose
/// process is gone (same host) reads back as [`RunStatus::Killed`].
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

/// `run.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunFile {
    id: String,
    experiment: String,
    name: String,
    status: RunStatus,
    start_time: i64,
    end_time: Option<i64>,
    params: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
    pid: u32,
    host: String,
}

#[derive(Serialize, Deserialize)]
struct MetricLine {
    key: String,
    step: u64,
    value: f64,
    timestamp: i64,
}

impl LocalStore {
    /// A store in `root` (created on the first run).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn run_dir(&self, id: &str) -> Result<PathBuf> {
        check_name("run id", id)?;
        let entries = fs::read_dir(&self.root).map_err(io(&self.root))?;
        for entry in entries.flatten() {
            let dir = entry.path().join(id);
            if dir.join("run.json").is_file() {
                return Ok(dir);
            }
        }
        Err(TrackError::NotFound {
            what: "run",
            id: id.to_owned(),
            hint: format!(
                " in {}; `kiln runs list` shows the runs",
                self.root.display()
            ),
        })
    }

    fn read_run_file(dir: &Path) -> Result<RunFile> {
        let path = dir.join("run.json");
        let text = fs::read_to_string(&path).map_err(io(&path))?;
        serde_json::from_str(&text).map_err(|source| TrackError::Json { path, source })
    }

    fn write_run_file(dir: &Path, run: &RunFile) -> Result<()> {
        let path = dir.join("run.json");
        let tmp = dir.join(format!(".run.json.{}", std::process::id()));
        let text = serde_json::to_string_pretty(run).expect("run files serialize");
        fs::write(&tmp, text).map_err(io(&tmp))?;
        fs::rename(&tmp, &path).map_err(io(&path))
    }

    fn load(dir: &Path) -> Result<RunRecord> {
        let file = Self::read_run_file(dir)?;
        let mut metrics: BTreeMap<String, Vec<MetricPoint>> = BTreeMap::new();
        let path = dir.join("metrics.jsonl");
        if path.exists() {
            let text = fs::read_to_string(&path).map_err(io(&path))?;
            for line in text.lines() {
                // A line cut short by a kill is skipped, not an error.
                let Ok(m) = serde_json::from_str::<MetricLine>(line) else {
                    continue;
                };
                metrics.entry(m.key).or_default().push(MetricPoint {
                    step: m.step,
                    value: m.value,
                    timestamp: m.timestamp,
                });
            }
        }
        let mut artifacts: Vec<String> = fs::read_dir(dir.join("artifacts"))
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        artifacts.sort();
        let status = if file.status == RunStatus::Running && !process_alive(file.pid, &file.host) {
            RunStatus::Killed
        } else {
            file.status
        };
        Ok(RunRecord {
            id: file.id,
            experiment: file.experiment,
            name: file.name,
            status,
            start_time: file.start_time,
            end_time: file.end_time,
            params: file.params,
            tags: file.tags,
            metrics,
            artifacts,
        })
    }
}

impl Default for LocalStore {
    fn default() -> Self {
        Self::new(DEFAULT_DIR)
    }
}

impl Store for LocalStore {
    fn create_run(
        &self,
        experiment: &str,
        name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String> {
        check_name("experiment", experiment)?;
        let id = new_run_id();
        let dir = self.root.join(experiment).join(&id);
        fs::create_dir_all(dir.join("artifacts")).map_err(io(&dir))?;
        let run = RunFile {
            id: id.clone(),
            experiment: experiment.to_owned(),
            name: name.to_owned(),
            status: RunStatus::Running,
            start_time: now_ms(),
            end_time: None,
            params: BTreeMap::new(),
            tags: tags.clone(),
            pid: std::process::id(),
            host: host(),
        };
        Self::write_run_file(&dir, &run)?;
        Ok(id)
    }

    fn log_batch(&self, run: &str, batch: &Batch) -> Result<()> {
        let dir = self.run_dir(run)?;
        if !batch.params.is_empty() || !batch.tags.is_empty() {
            let mut file = Self::read_run_file(&dir)?;
            file.params.extend(batch.params.iter().cloned());
            file.tags.extend(batch.tags.iter().cloned());
            Self::write_run_file(&dir, &file)?;
        }
        if !batch.metrics.is_empty() {
            let mut lines = String::new();
            for (key, p) in &batch.metrics {
                let line = MetricLine {
                    key: key.clone(),
                    step: p.step,
                    value: p.value,
                    timestamp: p.timestamp,
                };
                lines.push_str(&serde_json::to_string(&line).expect("metric lines serialize"));
                lines.push('\n');
            }
            let path = dir.join("metrics.jsonl");
            let mut f = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(io(&path))?;
            f.write_all(lines.as_bytes()).map_err(io(&path))?;
        }
        Ok(())
    }

    fn set_status(&self, run: &str, status: RunStatus, end_time: Option<i64>) -> Result<()> {
        let dir = self.run_dir(run)?;
        let mut file = Self::read_run_file(&dir)?;
        file.status = status;
        file.end_time = end_time;
        Self::write_run_file(&dir, &file)
    }

    fn log_artifact(&self, run: &str, name: &str, bytes: &[u8]) -> Result<()> {
        check_name("artifact", name)?;
        let path = self.run_dir(run)?.join("artifacts").join(name);
        fs::write(&path, bytes).map_err(io(&path))
    }

    fn artifact(&self, run: &str, name: &str) -> Result<Vec<u8>> {
        check_name("artifact", name)?;
        let path = self.run_dir(run)?.join("artifacts").join(name);
        fs::read(&path).map_err(io(&path))
    }

    fn run(&self, id: &str) -> Result<RunRecord> {
        Self::load(&self.run_dir(id)?)
    }

    fn runs(&self, experiment: Option<&str>) -> Result<Vec<RunRecord>> {
        if !self.root.exists() {
            return Ok(Vec::new());
        }
        let mut experiments: Vec<PathBuf> = match experiment {
            Some(e) => {
                check_name("experiment", e)?;
                vec![self.root.join(e)]
            }
            None => fs::read_dir(&self.root)
                .map_err(io(&self.root))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect(),
        };
        experiments.sort();
        let mut runs = Vec::new();
        for exp in experiments {
            let Ok(entries) = fs::read_dir(&exp) else {
                continue;
            };
            for entry in entries.flatten() {
                let dir = entry.path();
                if dir.join("run.json").is_file() {
                    runs.push(Self::load(&dir)?);
                }
            }
        }
        runs.sort_by(|a, b| (a.start_time, &a.id).cmp(&(b.start_time, &b.id)));
        Ok(runs)
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }
}

/// This machine's name, for telling a dead local process from a remote one.
fn host() -> String {
    fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_default()
}

/// Whether the process that owns a run may still be running: false only when it ran on
/// this host and `/proc` says it is gone (elsewhere, or without `/proc`, we cannot tell).
fn process_alive(pid: u32, run_host: &str) -> bool {
    if run_host != host() || !Path::new("/proc/self").exists() {
        return true;
    }
    Path::new("/proc").join(pid.to_string()).exists()
}
