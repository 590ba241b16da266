//! Kiln's MLflow store against a real `mlflow server` (SQLite backend, 127.0.0.1, a free
//! port), read back through MLflow's own Python client.
//!
//! Needs MLflow in `.venv-mlflow` at the repository root (`.ci/run` installs it:
//! `python3 -m venv .venv-mlflow && .venv-mlflow/bin/pip install mlflow`), or its Python in
//! `KILN_MLFLOW_PYTHON`. `KILN_SKIP_MLFLOW=1` skips the test where MLflow cannot be installed.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kiln_track::{MlflowStore, RunStatus, Store, TrackError, Tracker};

fn python() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("KILN_MLFLOW_PYTHON") {
        return Some(p.into());
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv-mlflow/bin/python");
    p.exists().then_some(p)
}

struct Server {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    /// Stops the server's whole process group (the `mlflow server` launcher, its uvicorn
    /// worker and job consumers), then checks that none of it is left.
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let signal = |sig: &str| {
            Command::new("kill")
                .args([sig, "--", &group])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        while signal("-0") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        signal("-KILL");
        let _ = self.child.wait();
        let deadline = Instant::now() + Duration::from_secs(10);
        while signal("-0") {
            if Instant::now() > deadline {
                if !std::thread::panicking() {
                    panic!("processes of the mlflow server's group {group} are still running");
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn start(python: &PathBuf) -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(python)
        .args(["-m", "mlflow", "server", "--host", "127.0.0.1", "--port"])
        .arg(port.to_string())
        .arg("--backend-store-uri")
        .arg(format!(
            "sqlite:///{}",
            dir.path().join("mlflow.db").display()
        ))
        .arg("--artifacts-destination")
        .arg(dir.path().join("artifacts"))
        .arg("--workers")
        .arg("1")
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group, so that stopping it stops every process it starts.
        .process_group(0)
        .spawn()
        .expect("start mlflow server");
    let url = format!("http://127.0.0.1:{port}");
    let server = Server {
        child,
        url,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    let agent = ureq::Agent::new_with_defaults();
    loop {
        if agent.get(format!("{}/health", server.url)).call().is_ok() {
            return server;
        }
        assert!(
            Instant::now() < deadline,
            "mlflow server did not start in 120 s"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn runs_round_trip_through_a_real_mlflow_server() {
    let Some(python) = python() else {
        if std::env::var("KILN_SKIP_MLFLOW").is_ok() {
            eprintln!("skipped: KILN_SKIP_MLFLOW is set");
            return;
        }
        panic!(
            "MLflow not found: run `python3 -m venv .venv-mlflow && .venv-mlflow/bin/pip install \
             mlflow` at the repository root (as .ci/run does), set KILN_MLFLOW_PYTHON, or set \
             KILN_SKIP_MLFLOW=1"
        );
    };
    let server = start(&python);
    let tracker = Tracker::mlflow(&server.url);
    let run = tracker.start_run("kiln-mlflow-test", "interop");
    run.log_params((0..150).map(|i| (format!("p{i}"), i)));
    run.set_tag("source", "kiln");
    // 1,200 values of one metric plus 1,200 of another: several log-batch requests.
    for step in 0..1200u64 {
        run.log_metrics(
            step,
            [
                ("loss", 1.0 / (step + 1) as f64),
                ("acc", step as f64 / 1200.0),
            ],
        );
    }
    run.log_artifact("notes.txt", b"from kiln");
    run.finish(RunStatus::Finished);
    assert_eq!(run.last_error(), None);
    let id = run.id().expect("created");

    // MLflow's own client reads it back.
    let script = format!(
        r#"
import json, mlflow
c = mlflow.MlflowClient("{url}")
r = c.get_run("{id}")
h = c.get_metric_history("{id}", "loss")
a = [f.path for f in c.list_artifacts("{id}")]
exp = c.get_experiment(r.info.experiment_id).name
print(json.dumps({{"status": r.info.status, "name": r.info.run_name, "experiment": exp,
    "params": len(r.data.params), "p7": r.data.params.get("p7"), "tag": r.data.tags.get("source"),
    "loss_points": len(h), "last_step": max(m.step for m in h),
    "last_loss": [m.value for m in h if m.step == 1199][0], "artifacts": a}}))
"#,
        url = server.url
    );
    let out = Command::new(&python)
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["status"], "FINISHED");
    assert_eq!(seen["name"], "interop");
    assert_eq!(seen["experiment"], "kiln-mlflow-test");
    assert_eq!(seen["params"], 150);
    assert_eq!(seen["p7"], "7");
    assert_eq!(seen["tag"], "kiln");
    assert_eq!(seen["loss_points"], 1200);
    assert_eq!(seen["last_step"], 1199);
    assert_eq!(seen["last_loss"].as_f64().unwrap(), 1.0 / 1200.0);
    assert_eq!(seen["artifacts"], serde_json::json!(["notes.txt"]));

    // And Kiln reads it back too.
    let store = MlflowStore::new(&server.url);
    let back = store.run(&id).unwrap();
    assert_eq!(back.status, RunStatus::Finished);
    assert_eq!(back.metrics["acc"].len(), 1200);
    assert_eq!(back.params.len(), 150);
    assert_eq!(store.artifact(&id, "notes.txt").unwrap(), b"from kiln");
    assert_eq!(store.runs(Some("kiln-mlflow-test")).unwrap().len(), 1);
}

#[test]
fn an_unreachable_server_does_not_stop_the_run() {
    // Nothing listens on this port once the listener is dropped.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tracker = Tracker::mlflow(&format!("http://127.0.0.1:{port}"));
    let run = tracker.start_run("e", "r");
    for step in 0..300 {
        run.log_metric("m", step, 0.0);
    }
    run.finish(RunStatus::Finished);
    assert!(run.id().is_none());
    let err = MlflowStore::new(&format!("http://127.0.0.1:{port}"))
        .run("x")
        .unwrap_err();
    assert!(matches!(err, TrackError::Http { .. }), "{err}");
}
