//! Reports as a person sees them: rendered by headless Chromium, with assertions on what is
//! drawn.
//!
//! Needs Chromium (`chromium`, Debian's package, which `.ci/run` installs; or its path in
//! `KILN_CHROMIUM`). `KILN_SKIP_BROWSER=1` skips the browser test where Chromium cannot be
//! installed. `KILN_REPORT_SCREENSHOT=docs/report.png` also saves a screenshot (how the one in
//! docs/ was made).

use std::path::{Path, PathBuf};
use std::process::Command;

use kiln_track::{DIRECTION_TAG, LocalStore, OBJECTIVE, Report, RunStatus, STUDY_TAG, Tracker};

/// Three training runs (one with a confusion matrix) and a 30-trial study.
fn fill(dir: &Path) -> Tracker {
    let tracker = Tracker::local(dir);
    for (i, lr) in [0.1, 0.01, 0.001].into_iter().enumerate() {
        let run = tracker.start_run("mnist", &format!("mlp-lr-{lr}"));
        run.log_param("lr", lr);
        run.log_param("hidden", 128);
        for epoch in 1..=10u64 {
            let e = epoch as f64;
            run.log_metrics(
                epoch,
                [
                    ("train_loss", (1.0 + i as f64) / e),
                    (
                        "valid_accuracy",
                        0.9 + 0.08 * (1.0 - (-e / (2.0 + i as f64)).exp()),
                    ),
                ],
            );
        }
        if i == 0 {
            let labels: Vec<String> = (0..3).map(|c| format!("class {c}")).collect();
            run.log_confusion_matrix(&labels, &[vec![50, 2, 1], vec![3, 45, 4], vec![0, 5, 40]]);
        }
        run.finish(RunStatus::Finished);
    }
    for t in 0..30u64 {
        let tags = [
            (STUDY_TAG.to_owned(), "mlp-search".to_owned()),
            (DIRECTION_TAG.to_owned(), "minimize".to_owned()),
        ]
        .into();
        let run = tracker.start_run_with_tags("mnist-tuning", &format!("trial {t}"), tags);
        let lr = 10f64.powf(-4.0 + 3.0 * ((t * 7) % 30) as f64 / 30.0);
        let layers = 1 + t % 3;
        let optimizer = ["adam", "sgd", "adamw"][(t % 3) as usize];
        run.log_params([
            ("lr", lr.to_string()),
            ("layers", layers.to_string()),
            ("optimizer", optimizer.to_owned()),
        ]);
        let value = (lr.log10() + 2.5).powi(2) + 0.1 * layers as f64;
        run.log_metric(OBJECTIVE, t, value);
        run.finish(if t % 10 == 9 {
            RunStatus::Failed
        } else {
            RunStatus::Finished
        });
    }
    tracker
}

#[test]
fn the_html_has_every_section() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path());
    let report = Report::from_store(&LocalStore::new(dir.path()), None).unwrap();
    assert_eq!(report.runs().len(), 33);
    let html = report.to_html();
    for id in [
        "id=\"runs\"",
        "id=\"learning-curves\"",
        "id=\"curve-train_loss\"".replace('_', "-").as_str(),
        "id=\"optimization-history\"",
        "id=\"parallel-coordinates\"",
        "id=\"slice-plots\"",
        "id=\"param-importance\"",
        "id=\"confusion-matrices\"",
    ] {
        assert!(html.contains(id), "missing {id}");
    }
    assert!(!html.contains("<script"), "reports have no script");
    assert!(
        !html.contains("http://") || !html.contains("src=\"http"),
        "no external resource"
    );
    // η² ranks lr (which drives the objective) first.
    let importance = &html[html.find("id=\"param-importance\"").unwrap()..];
    let first = importance.find(">log10(lr)<").unwrap();
    assert!(importance.find(">layers<").unwrap() > first);
}

#[test]
fn a_two_objective_study_gets_a_pareto_front_of_its_non_dominated_trials() {
    let dir = tempfile::tempdir().unwrap();
    let tracker = Tracker::local(dir.path());
    // Maximize the first, minimize the second: (3, 3) and (2, 1) are the front; (2, 1)
    // dominates (1, 2) and (2, 4).
    for (t, (a, b)) in [(3.0, 3.0), (1.0, 2.0), (2.0, 1.0), (2.0, 4.0)]
        .into_iter()
        .enumerate()
    {
        let tags = [
            (STUDY_TAG.to_owned(), "trade-off".to_owned()),
            (DIRECTION_TAG.to_owned(), "maximize,minimize".to_owned()),
        ]
        .into();
        let run = tracker.start_run_with_tags("tuning", &format!("trial {t}"), tags);
        run.log_param("w", t);
        run.log_metric(OBJECTIVE, t as u64, a);
        run.log_metric(&format!("{OBJECTIVE}_0"), t as u64, a);
        run.log_metric(&format!("{OBJECTIVE}_1"), t as u64, b);
        run.finish(RunStatus::Finished);
    }
    let html = Report::from_store(&LocalStore::new(dir.path()), None)
        .unwrap()
        .to_html();
    assert!(html.contains("id=\"pareto-front\""));
    assert!(html.contains("Pareto front: 2 of 4 complete trials."));
    assert!(html.contains("maximize, minimize"));
    // The front's line runs through exactly its two points, in order of the first objective.
    let plot = &html[html.find("id=\"pareto-front\"").unwrap()..];
    let line = &plot[plot.find("class=\"best\"").unwrap()..];
    let points = &line[line.find("points=\"").unwrap() + 8..];
    let points = &points[..points.find('"').unwrap()];
    assert_eq!(points.split(' ').count(), 2, "{points}");
}

fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("KILN_CHROMIUM") {
        return Some(p.into());
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            let ok = Command::new(name)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success());
            ok.then(|| PathBuf::from(name))
        })
}

fn headless(browser: &Path, extra: &[&str], page: &Path) -> std::process::Output {
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1400,3200",
        ])
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium")
}

#[test]
fn chromium_draws_the_report() {
    let Some(browser) = chromium() else {
        if std::env::var("KILN_SKIP_BROWSER").is_ok() {
            eprintln!("skipped: KILN_SKIP_BROWSER is set");
            return;
        }
        panic!(
            "Chromium not found: install Debian's `chromium` (as .ci/run does), set KILN_CHROMIUM, or set KILN_SKIP_BROWSER=1"
        );
    };
    let dir = tempfile::tempdir().unwrap();
    fill(&dir.path().join("runs"));
    let page = dir.path().join("report.html");
    Report::from_store(&LocalStore::new(dir.path().join("runs")), None)
        .unwrap()
        .write(&page)
        .unwrap();
    let out = headless(&browser, &["--dump-dom"], &page);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("Uncaught"), "script errors: {stderr}");
    assert!(!stderr.contains(":CONSOLE("), "console messages: {stderr}");
    // What the browser parsed: one table row per run, and every chart.
    assert_eq!(dom.matches("<tr class=\"run\"").count(), 33);
    assert_eq!(
        dom.matches("<svg").count(),
        2 + 1 + 1 + 3 + 1 + 1,
        "charts drawn"
    );
    for id in [
        "curve-train-loss",
        "curve-valid-accuracy",
        "optimization-history",
        "parallel-coordinates",
        "slice-log10-lr-",
        "slice-layers",
        "slice-optimizer",
        "param-importance",
    ] {
        assert!(dom.contains(&format!("id=\"{id}\"")), "missing chart {id}");
    }
    assert_eq!(
        dom.matches("class=\"series\"").count(),
        6,
        "3 runs × 2 curves"
    );
    assert_eq!(
        dom.matches("<polyline class=\"row\"").count(),
        27,
        "complete trials"
    );
    assert_eq!(
        dom.matches("class=\"cell\"").count(),
        9,
        "3×3 confusion matrix"
    );
    // A screenshot renders (and is kept when asked for).
    let shot = std::env::var("KILN_REPORT_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|_| dir.path().join("shot.png"));
    let out = headless(
        &browser,
        &[&format!("--screenshot={}", shot.display())],
        &page,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "screenshot of {} bytes",
        png.len()
    );
}
