//! The `kiln` binary, as a user runs it (built with the `cli` feature).
#![cfg(feature = "cli")]

use std::process::Command;

use kiln::track::{RunStatus, Tracker};

fn kiln(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .output()
        .expect("run kiln");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn runs_list_show_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let tracker = Tracker::local(&runs);
    let run = tracker.start_run("demo", "first-run");
    run.log_param("lr", 0.01);
    for step in 0..5 {
        run.log_metric("loss", step, 1.0 / (step + 1) as f64);
    }
    run.finish(RunStatus::Finished);
    let id = run.id().unwrap();
    let d = runs.to_str().unwrap();

    let (ok, out, err) = kiln(&["runs", "list", "--dir", d]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&id) && out.contains("first-run") && out.contains("FINISHED"),
        "{out}"
    );

    let (ok, out, err) = kiln(&["runs", "show", &id[..8], "--dir", d]);
    assert!(ok, "{err}");
    assert!(
        out.contains("lr = 0.01") && out.contains("loss = 0.2 (5 values)"),
        "{out}"
    );

    let html = dir.path().join("r.html");
    let (ok, out, err) = kiln(&["report", d, "-o", html.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("1 runs"), "{out}");
    assert!(
        std::fs::read_to_string(&html)
            .unwrap()
            .contains("first-run")
    );

    let (ok, _, err) = kiln(&["runs", "show", "nope", "--dir", d]);
    assert!(!ok);
    assert!(err.contains("no run `nope`"), "{err}");
    let (ok, _, err) = kiln(&["runs", "list", "--dir", "/nonexistent/kiln-runs"]);
    assert!(!ok);
    assert!(err.contains("nothing has been tracked there yet"), "{err}");
}

#[test]
fn drift_between_two_csv_files() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, shift: f64| {
        let mut text = String::from("x,colour\n");
        for i in 0..300 {
            let colour = if (i + (shift as usize)).is_multiple_of(3) {
                "red"
            } else {
                "blue"
            };
            text.push_str(&format!("{},{colour}\n", (i % 100) as f64 + shift));
        }
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let (a, b) = (write("ref.csv", 0.0), write("cur.csv", 40.0));
    let (ok, out, err) = kiln(&["drift", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("x ") && out.contains("DRIFT"), "{out}");
    let (ok, out, _) = kiln(&["drift", a.to_str().unwrap(), a.to_str().unwrap(), "--json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["drifted_columns"], 0);
    let (ok, _, err) = kiln(&["drift", a.to_str().unwrap(), "/nonexistent.csv"]);
    assert!(!ok);
    assert!(err.contains("/nonexistent.csv"), "{err}");
}
