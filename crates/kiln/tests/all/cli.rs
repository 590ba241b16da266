//! The `kiln` binary, as a user runs it (built with the `cli` feature).

use std::process::Command;

use kiln::track::{RunStatus, Tracker};

fn kiln(args: &[&str]) -> (bool, String, String) {
    let (code, out, err) = kiln_status(args);
    (code == Some(0), out, err)
}

/// The exit status, stdout and stderr of `kiln ARGS`.
pub(crate) fn kiln_status(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .output()
        .expect("run kiln");
    (
        out.status.code(),
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

#[test]
fn train_evaluate_predict_and_monitor_a_csv() {
    let dir = tempfile::tempdir().unwrap();
    let data = kiln::data::datasets::Datasets::locate()
        .path("tabular/penguins.csv")
        .unwrap();
    let data = data.to_str().unwrap();
    let bundle = dir.path().join("penguins");
    let b = bundle.to_str().unwrap();
    let (ok, out, err) = kiln(&[
        "train", "--data", data, "--target", "label", "--model", "linear", "--epochs", "20",
        "--output", b, "--quiet",
    ]);
    assert!(ok, "{err}");
    let accuracy: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("test accuracy "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no test accuracy in {out}"));
    assert!(accuracy > 0.9, "{out}");
    assert!(out.contains(&format!("bundle: {b}")), "{out}");
    assert!(bundle.join("pipeline.toml").is_file());

    let (ok, out, err) = kiln(&["evaluate", b, data]);
    assert!(ok, "{err}");
    assert!(
        out.contains("344 rows") && out.contains("accuracy"),
        "{out}"
    );

    let predictions = dir.path().join("p.csv");
    let p = predictions.to_str().unwrap();
    let (ok, out, err) = kiln(&["predict", b, data, "-o", p]);
    assert!(ok, "{err}");
    assert!(out.contains("wrote 344 predictions"), "{out}");
    let text = std::fs::read_to_string(&predictions).unwrap();
    assert_eq!(text.lines().count(), 345);

    let (ok, out, err) = kiln(&["monitor", b, data]);
    assert!(ok, "{err}");
    assert!(
        out.contains("344 rows") && out.contains("bill_length_mm"),
        "{out}"
    );

    // The same run from a config file.
    let config = dir.path().join("pipeline.toml");
    std::fs::write(
        &config,
        format!(
            "[data]\npath = \"{data}\"\ntarget = \"label\"\n[model]\nkind = \"linear\"\n\
             [train]\nepochs = 20\n[output]\nbundle = \"{b}2\"\n"
        ),
    )
    .unwrap();
    let (ok, out, err) = kiln(&["train", config.to_str().unwrap(), "-q"]);
    assert!(ok, "{err}");
    assert!(out.contains("test accuracy"), "{out}");
}

#[test]
fn bad_input_exits_with_status_2_and_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = kiln::data::datasets::Datasets::locate()
        .path("tabular/iris.csv")
        .unwrap();
    let data = data.to_str().unwrap();
    let out = dir.path().join("b");
    let o = out.to_str().unwrap();
    let check = |args: &[&str], expect: &[&str]| {
        let (code, _, err) = kiln_status(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(err.starts_with("error: "), "{err}");
        for e in expect {
            assert!(err.contains(e), "{args:?}: `{e}` not in {err}");
        }
        assert!(!err.contains("panicked"), "{err}");
        for e in expect {
            assert_eq!(err.matches(e).count(), 1, "`{e}` said once: {err}");
        }
    };
    check(
        &[
            "train", "--data", data, "--target", "species", "-o", o, "-q",
        ],
        &["species"],
    );
    check(
        &["train", "--data", "/nonexistent.csv", "--target", "y", "-q"],
        &["/nonexistent.csv"],
    );
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!("[data]\npath = \"{data}\"\ntraget = \"label\"\n"),
    )
    .unwrap();
    check(
        &["train", config.to_str().unwrap(), "-q"],
        &["traget", "c.toml"],
    );
    check(
        &["evaluate", dir.path().to_str().unwrap(), data],
        &["bundle.json"],
    );
    assert!(!out.exists(), "nothing written on error");
}

#[test]
fn validate_prints_the_report_and_exits_1_on_failure() {
    let data = kiln::data::datasets::Datasets::locate()
        .path("tabular/penguins.csv")
        .unwrap();
    let data = data.to_str().unwrap();
    let (code, out, err) = kiln_status(&["validate", data, "--target", "label"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("passed") && out.contains("warnings"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("suite.toml");
    std::fs::write(
        &suite,
        "[[check]]\ncheck = \"range\"\ncolumn = \"bill_length_mm\"\nmin = 0.0\nmax = 40.0\n",
    )
    .unwrap();
    let (code, out, _) = kiln_status(&["validate", data, "--checks", suite.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAIL"), "{out}");
}

#[test]
fn kiln_serve_answers_then_drains_and_flushes_its_monitor_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("iris");
    let data = crate::common::bundled("tabular/iris.csv");
    {
        let _turn = crate::common::turn();
        let mut config = kiln::pipeline::PipelineConfig::new(&data)
            .with_target("label")
            .with_model(kiln::pipeline::ModelKind::Linear);
        config.train.epochs = Some(5);
        config.output.bundle = Some(bundle.clone());
        kiln::pipeline::Pipeline::new(config).run().unwrap();
    }
    let log = dir.path().join("monitor.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args([
            "serve",
            bundle.to_str().unwrap(),
            "--port",
            "0",
            "--window",
            "1h",
        ])
        .arg("--monitor-log")
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("kiln serve: listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    let body = r#"{"dataframe_split": {"columns": ["sepal_length_cm", "sepal_width_cm",
        "petal_length_cm", "petal_width_cm"], "data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}}"#;
    let mut answer = ureq::post(format!("{url}/invocations"))
        .header("Content-Type", "application/json")
        .send(body)
        .unwrap();
    let text = answer.body_mut().read_to_string().unwrap();
    assert!(text.starts_with("{\"predictions\":[\""), "{text}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("window 0 closed: 2 rows"), "{stderr}");
    let lines = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        lines.lines().count(),
        1,
        "the open window was flushed: {lines}"
    );
}

#[test]
fn kiln_study_copy_moves_a_study_between_sqlite_files() {
    use kiln::tune::{Study, TrialState, TuneError};

    let dir = tempfile::tempdir().unwrap();
    let from = dir.path().join("a.db");
    let to = dir.path().join("b.db");
    let study = Study::builder("s")
        .with_storage_url(from.to_str().unwrap())
        .load_or_create()
        .unwrap();
    study
        .optimize(5, |t| {
            let x = t.suggest_float("x", 0.0, 1.0).uniform()?;
            Ok::<_, TuneError>(x)
        })
        .unwrap();
    let (ok, out, err) = kiln(&[
        "study",
        "copy",
        from.to_str().unwrap(),
        &format!("sqlite:{}", to.display()),
        "--study",
        "s",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("5 trials"), "{out}");
    let copied = Study::builder("s")
        .with_storage_url(to.to_str().unwrap())
        .load_or_create()
        .unwrap()
        .trials()
        .unwrap();
    assert_eq!(copied.len(), 5);
    assert!(copied.iter().all(|t| t.state == TrialState::Complete));
    let (ok, _, err) = kiln(&[
        "study",
        "copy",
        from.to_str().unwrap(),
        to.to_str().unwrap(),
        "--study",
        "s",
    ]);
    assert!(!ok && err.contains("already has trials"), "{err}");
}

/// Two `kiln train --tune N --storage URL` processes at once join one study: every trial of
/// both is in it, numbered without duplicates, and each process retrains the study's best.
/// The data file's name is new each run, so is the study's (`<data stem>-tune`).
fn workers_share_a_study(storage: &str, dir: &std::path::Path) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let stem = format!("iris{}x{nanos}", std::process::id());
    let data = dir.join(format!("{stem}.csv"));
    std::fs::copy(
        kiln::data::datasets::Datasets::locate()
            .path("tabular/iris.csv")
            .unwrap(),
        &data,
    )
    .unwrap();
    let children: Vec<_> = (0..2)
        .map(|w| {
            let out = dir.join(format!("bundle-{w}"));
            Command::new(env!("CARGO_BIN_EXE_kiln"))
                .args([
                    "train",
                    "--data",
                    data.to_str().unwrap(),
                    "--target",
                    "label",
                ])
                .args(["--model", "linear", "--epochs", "5", "--tune", "3"])
                .args(["--storage", storage, "-o", out.to_str().unwrap(), "-q"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("run kiln")
        })
        .collect();
    let children: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for out in &children {
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "{stdout}\n{stderr}");
        assert!(stdout.contains("test accuracy"), "{stdout}");
    }
    let study = kiln::tune::Study::builder(&format!("{stem}-tune"))
        .with_storage(kiln::tune::open_storage(storage).unwrap())
        .load_or_create()
        .unwrap();
    let trials = study.trials().unwrap();
    let mut numbers: Vec<u64> = trials.iter().map(|t| t.number).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (0..6).collect::<Vec<_>>(), "{trials:?}");
}

#[test]
fn train_workers_share_a_sqlite_study() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("study.db");
    workers_share_a_study(db.to_str().unwrap(), dir.path());
}

/// Against the PostgreSQL server `scripts/test.sh` starts (`KILN_TEST_POSTGRES_URL`); the
/// study's name is new each run (see above), so earlier runs' studies do not interfere.
#[test]
fn train_workers_share_a_postgres_study() {
    let url = std::env::var("KILN_TEST_POSTGRES_URL").expect(
        "set KILN_TEST_POSTGRES_URL to a PostgreSQL server's URL (scripts/test.sh starts one \
         on 127.0.0.1 and sets it)",
    );
    let dir = tempfile::tempdir().unwrap();
    workers_share_a_study(&url, dir.path());
}
