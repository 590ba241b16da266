//! Drift reports, monitors, bundles and fairness on generated data with known shifts.

use std::time::{Duration, SystemTime};

use kiln_data::{Column, ColumnData, PreprocessorConfig, Table, TableProfile, bundle};
use kiln_monitor::{
    Alert, DriftConfig, DriftReport, DriftTest, FairnessReport, Monitor, MonitorConfig,
    MonitorError, Outputs, Snapshot, Window,
};

/// A deterministic stream of pseudo-random numbers in [0, 1).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Approximately normal (sum of 12 uniforms).
    fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.next()).sum::<f64>() - 6.0
    }
}

/// `rows` rows: `age` (normal, shifted by `shift` standard deviations), `income` (normal,
/// never shifted), `colour` (categorical, "red" gets `red` of the mass) and a class target.
fn table(rows: usize, shift: f64, red: f64, seed: u64) -> Table {
    let mut rng = Rng(seed);
    let age: Vec<f64> = (0..rows)
        .map(|_| 40.0 + 10.0 * (rng.normal() + shift))
        .collect();
    let income: Vec<f64> = (0..rows).map(|_| 1000.0 + 100.0 * rng.normal()).collect();
    let levels = vec!["red".to_owned(), "green".to_owned(), "blue".to_owned()];
    let codes: Vec<u32> = (0..rows)
        .map(|_| {
            let u = rng.next();
            if u < red {
                0
            } else if u < red + (1.0 - red) / 2.0 {
                1
            } else {
                2
            }
        })
        .collect();
    let label: Vec<i64> = age.iter().map(|&a| i64::from(a > 45.0)).collect();
    Table::new(vec![
        Column::new("age", ColumnData::Float(age), None),
        Column::new("income", ColumnData::Float(income), None),
        Column::new("colour", ColumnData::Categorical { codes, levels }, None),
        Column::new("label", ColumnData::Integer(label), None),
    ])
    .unwrap()
}

fn drift(reference: &Table, current: &Table) -> DriftReport {
    DriftReport::compute(
        &Snapshot::from_table(reference).unwrap(),
        &Snapshot::from_table(current).unwrap(),
        &DriftConfig::default(),
    )
    .unwrap()
}

fn column<'a>(report: &'a DriftReport, name: &str) -> &'a kiln_monitor::ColumnDrift {
    report.columns.iter().find(|c| c.column == name).unwrap()
}

#[test]
fn tests_follow_type_and_size_and_find_the_shifted_columns() {
    // Small reference: K-S and chi².
    let report = drift(&table(800, 0.0, 0.33, 1), &table(800, 0.5, 0.6, 2));
    assert_eq!(column(&report, "age").test, DriftTest::Ks);
    assert_eq!(column(&report, "colour").test, DriftTest::ChiSquared);
    // `label` has 2 distinct values: a categorical test.
    assert_eq!(column(&report, "label").test, DriftTest::ChiSquared);
    assert!(column(&report, "age").drifted, "{report}");
    assert!(column(&report, "colour").drifted, "{report}");
    assert!(!column(&report, "income").drifted, "{report}");
    assert!(report.dataset_drift, "3 of 4 columns drift: {report}");
    // Large reference: Wasserstein and Jensen–Shannon.
    let report = drift(&table(5000, 0.0, 0.33, 3), &table(3000, 0.5, 0.33, 4));
    assert_eq!(column(&report, "age").test, DriftTest::Wasserstein);
    assert_eq!(column(&report, "colour").test, DriftTest::JensenShannon);
    assert!(column(&report, "age").drifted, "{report}");
    assert!(!column(&report, "colour").drifted, "{report}");
    assert!(!column(&report, "income").drifted, "{report}");
    // The same distribution: nothing drifts.
    let report = drift(&table(5000, 0.0, 0.33, 5), &table(3000, 0.0, 0.33, 6));
    assert_eq!(report.drifted_columns, 0, "{report}");
    assert!(!report.dataset_drift);
}

#[test]
fn reports_read_as_text_and_json() {
    let report = drift(&table(500, 0.0, 0.33, 1), &table(500, 1.0, 0.33, 2));
    let text = report.to_string();
    assert!(text.contains("age") && text.contains("DRIFT"), "{text}");
    let back: DriftReport = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(back, report);
}

#[test]
fn overrides_and_thresholds_apply() {
    let config = DriftConfig::default()
        .with_test("age", DriftTest::Psi)
        .with_threshold(DriftTest::Psi, 5.0);
    let report = DriftReport::compute(
        &Snapshot::from_table(&table(500, 0.0, 0.33, 1)).unwrap(),
        &Snapshot::from_table(&table(500, 1.0, 0.33, 2)).unwrap(),
        &config,
    )
    .unwrap();
    let age = column(&report, "age");
    assert_eq!(age.test, DriftTest::Psi);
    assert!(
        age.score > 0.1 && !age.drifted,
        "PSI {} under a threshold of 5",
        age.score
    );
    let bad = DriftConfig::default().with_threshold(DriftTest::Ks, 1.5);
    assert!(matches!(
        bad.validate(),
        Err(MonitorError::InvalidConfig { .. })
    ));
    let wrong = DriftConfig::default().with_test("colour", DriftTest::Ks);
    let err = DriftReport::compute(
        &Snapshot::from_table(&table(50, 0.0, 0.33, 1)).unwrap(),
        &Snapshot::from_table(&table(50, 0.0, 0.33, 2)).unwrap(),
        &wrong,
    )
    .unwrap_err();
    assert!(err.to_string().contains("colour"), "{err}");
}

#[test]
fn a_missing_column_is_named() {
    let reference = Snapshot::from_table(&table(100, 0.0, 0.33, 1)).unwrap();
    let current = Snapshot::from_table(&table(100, 0.0, 0.33, 2))
        .unwrap()
        .without("income");
    let err = DriftReport::compute(&reference, &current, &DriftConfig::default()).unwrap_err();
    assert!(err.to_string().contains("`income`"), "{err}");
}

#[test]
fn a_profile_reference_agrees_with_the_raw_reference() {
    let reference = table(20_000, 0.0, 0.33, 7);
    let current = table(4000, 0.3, 0.5, 8);
    let raw = drift(&reference, &current);
    let sketched = DriftReport::compute(
        &Snapshot::from_profile(&TableProfile::from_table(&reference)),
        &Snapshot::from_table(&current).unwrap(),
        &DriftConfig::default(),
    )
    .unwrap();
    for (a, b) in raw.columns.iter().zip(&sketched.columns) {
        assert_eq!(a.test, b.test, "{}", a.column);
        assert_eq!(a.drifted, b.drifted, "{}", a.column);
        assert!(
            (a.score - b.score).abs() < 0.02,
            "{}: {} vs {}",
            a.column,
            a.score,
            b.score
        );
    }
}

fn classes(t: &Table) -> Vec<String> {
    let label = t.column("label").unwrap();
    (0..t.rows())
        .map(|r| label.text_at(r).unwrap().into_owned())
        .collect()
}

#[test]
fn a_monitor_raises_alerts_per_window() {
    let reference = table(5000, 0.0, 0.33, 9);
    let snapshot = Snapshot::from_table(&reference).unwrap();
    let target = snapshot.column("label").unwrap().clone();
    let alerts = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = alerts.clone();
    let mut monitor = Monitor::new(
        snapshot.without("label"),
        MonitorConfig::new(Window::Rows(2000)),
    )
    .unwrap()
    .with_prediction_reference(target)
    .with_baseline("accuracy", 0.9)
    .with_alert_sink(move |a: &Alert| seen.lock().unwrap().push(a.clone()));
    // Window 0: like the reference, predictions right.
    let calm = table(2000, 0.0, 0.33, 10);
    let predicted = classes(&calm);
    let reports = monitor
        .observe(&calm, Outputs::Classes(&predicted))
        .unwrap();
    assert_eq!(reports.len(), 1);
    assert!(reports[0].alerts.is_empty(), "{:?}", reports[0]);
    // Window 1, in two batches: ages shift, predictions follow, labels say they are wrong.
    let shifted = table(2000, 1.0, 0.33, 11);
    let predicted = classes(&shifted);
    let wrong: Vec<String> = predicted
        .iter()
        .map(|p| if p == "1" { "0".into() } else { "1".into() })
        .collect();
    let first = shifted.take(&(0..1500).collect::<Vec<_>>());
    assert!(
        monitor
            .observe(&first, Outputs::Classes(&predicted[..1500]))
            .unwrap()
            .is_empty()
    );
    monitor
        .observe_labels(
            Outputs::Classes(&predicted[..1500]),
            Outputs::Classes(&wrong[..1500]),
        )
        .unwrap();
    let rest = shifted.take(&(1500..2000).collect::<Vec<_>>());
    let reports = monitor
        .observe(&rest, Outputs::Classes(&predicted[1500..]))
        .unwrap();
    assert_eq!(reports.len(), 1);
    let w = &reports[0];
    assert_eq!((w.window, w.rows, w.labeled), (1, 2000, 1500));
    assert_eq!(w.accuracy, Some(0.0));
    assert!(
        w.features
            .columns
            .iter()
            .any(|c| c.column == "age" && c.drifted)
    );
    let kinds: Vec<&str> = w
        .alerts
        .iter()
        .map(|a| match a {
            Alert::DatasetDrift { .. } => "dataset",
            Alert::PredictionDrift { .. } => "prediction",
            Alert::PerformanceDrop { .. } => "performance",
            _ => "other",
        })
        .collect();
    assert!(
        kinds.contains(&"prediction") && kinds.contains(&"performance"),
        "{kinds:?}"
    );
    assert_eq!(alerts.lock().unwrap().len(), w.alerts.len());
    assert!(
        monitor.flush().unwrap().is_none(),
        "nothing left in the window"
    );
}

#[test]
fn time_windows_close_on_the_first_request_past_their_end() {
    let reference = Snapshot::from_table(&table(1000, 0.0, 0.33, 12))
        .unwrap()
        .without("label");
    let mut monitor = Monitor::new(
        reference,
        MonitorConfig::new(Window::Duration(Duration::from_secs(60))),
    )
    .unwrap();
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let batch = table(100, 0.0, 0.33, 13);
    let none: Vec<f64> = vec![0.0; 100];
    for s in [0, 20, 59] {
        let r = monitor.observe_at(&batch, Outputs::Values(&none), t0 + Duration::from_secs(s));
        assert!(r.unwrap().is_empty());
    }
    let r = monitor
        .observe_at(&batch, Outputs::Values(&none), t0 + Duration::from_secs(60))
        .unwrap();
    assert_eq!((r.len(), r[0].rows), (1, 300));
    assert_eq!(monitor.flush().unwrap().unwrap().rows, 100);

    // `tick` closes a window on time with no request to close it.
    let t1 = t0 + Duration::from_secs(600);
    monitor
        .observe_at(&batch, Outputs::Values(&none), t1)
        .unwrap();
    assert_eq!(monitor.window_rows(), 100);
    assert!(
        monitor
            .tick(t1 + Duration::from_secs(59))
            .unwrap()
            .is_none()
    );
    let closed = monitor.tick(t1 + Duration::from_secs(60)).unwrap().unwrap();
    assert_eq!((closed.window, closed.rows), (2, 100));
    assert_eq!((monitor.window_index(), monitor.window_rows()), (3, 0));
    assert!(
        monitor
            .tick(t1 + Duration::from_secs(999))
            .unwrap()
            .is_none()
    );
}

/// Writes a bundle directory as `kiln_train::Bundle::save` lays it out (manifest with
/// checksums, profile, preprocessor) through `kiln_data::bundle`, without the weights
/// monitoring does not read.
fn write_bundle(dir: &std::path::Path, train: &Table) {
    let profile = TableProfile::from_table(train).to_json().unwrap();
    let prep = PreprocessorConfig::default()
        .fit(&train.clone().with_target("label").unwrap())
        .unwrap()
        .to_json()
        .unwrap();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(bundle::PROFILE), profile).unwrap();
    std::fs::write(dir.join(bundle::PREPROCESSOR), prep).unwrap();
    let manifest = bundle::Manifest {
        format: bundle::FORMAT,
        kiln_version: "0.1.0".into(),
        model: "linear".into(),
        model_config: serde_json::json!({}),
        train_config: serde_json::json!({}),
        target: kiln_data::TargetEncoder::classes(vec!["0".into(), "1".into()]).unwrap(),
        metrics: [("test_accuracy".to_owned(), 0.97)].into(),
        text_input: None,
        text_column: None,
        lineage: None,
        files: bundle::Manifest::checksums(dir).unwrap(),
    };
    manifest.write(dir).unwrap();
}

#[test]
fn a_monitor_loads_from_a_bundle_and_checks_it() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    write_bundle(&bundle, &table(3000, 0.0, 0.33, 14));
    let mut monitor =
        Monitor::from_bundle(&bundle, MonitorConfig::new(Window::Rows(1000))).unwrap();
    let names: Vec<&str> = monitor
        .reference()
        .columns()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["age", "income", "colour"],
        "the target is not an input"
    );
    let shifted = table(1000, 2.0, 0.33, 15);
    let predicted = classes(&shifted);
    let reports = monitor
        .observe(&shifted, Outputs::Classes(&predicted))
        .unwrap();
    let p = reports[0]
        .predictions
        .as_ref()
        .expect("prediction drift against the target");
    assert!(p.drifted, "{p:?}");
    // A modified profile is refused, with the file named.
    std::fs::write(bundle.join("profile.json"), "{}").unwrap();
    let err = Monitor::from_bundle(&bundle, MonitorConfig::new(Window::Rows(10))).unwrap_err();
    assert!(err.to_string().contains("profile.json"), "{err}");
    let err = Monitor::from_bundle(dir.path(), MonitorConfig::new(Window::Rows(10))).unwrap_err();
    assert!(err.to_string().contains("bundle.json"), "{err}");
}

#[test]
fn a_bundle_monitor_compares_accuracy_with_the_bundles_test_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    write_bundle(dir.path(), &table(1000, 0.0, 0.33, 16));
    let mut monitor =
        Monitor::from_bundle(dir.path(), MonitorConfig::new(Window::Rows(500))).unwrap();
    let batch = table(200, 0.0, 0.33, 17);
    let predicted = classes(&batch);
    let wrong: Vec<String> = predicted
        .iter()
        .map(|p| if p == "1" { "0".into() } else { "1".into() })
        .collect();
    monitor
        .observe(&batch, Outputs::Classes(&predicted))
        .unwrap();
    monitor
        .observe_labels(Outputs::Classes(&predicted), Outputs::Classes(&wrong))
        .unwrap();
    let w = monitor.flush().unwrap().unwrap();
    assert!(
        w.alerts.iter().any(|a| matches!(
            a,
            Alert::PerformanceDrop { metric, baseline, .. } if metric == "accuracy" && *baseline == 0.97
        )),
        "{:?}",
        w.alerts
    );
}

#[test]
fn bad_monitor_settings_are_errors() {
    let reference = Snapshot::from_table(&table(100, 0.0, 0.33, 1)).unwrap();
    for config in [
        MonitorConfig::new(Window::Rows(0)),
        MonitorConfig::new(Window::Duration(Duration::ZERO)),
        MonitorConfig::new(Window::Rows(10)).with_accuracy_drop(f64::NAN),
        MonitorConfig::new(Window::Rows(10)).with_sketch_size(2),
    ] {
        assert!(Monitor::new(reference.clone(), config).is_err());
    }
    let mut monitor = Monitor::new(reference, MonitorConfig::new(Window::Rows(10))).unwrap();
    let batch = table(5, 0.0, 0.33, 2);
    let err = monitor
        .observe(&batch, Outputs::Values(&[1.0]))
        .unwrap_err();
    assert!(matches!(err, MonitorError::LengthMismatch { .. }), "{err}");
}

#[test]
fn fairness_matches_hand_computed_rates() {
    // Group a: 4 rows, actual 1 1 0 0, predicted 1 0 1 0 → selection 0.5, TPR 0.5, FPR 0.5.
    // Group b: 4 rows, actual 1 1 0 0, predicted 1 1 1 1 → selection 1.0, TPR 1.0, FPR 1.0.
    // Group c: 2 rows, actual 0 0, predicted 0 0 → selection 0.0, TPR undefined, FPR 0.0.
    let actual = ["1", "1", "0", "0", "1", "1", "0", "0", "0", "0"];
    let predicted = ["1", "0", "1", "0", "1", "1", "1", "1", "0", "0"];
    let group = ["a", "a", "a", "a", "b", "b", "b", "b", "c", "c"];
    let r = FairnessReport::compute(&actual, &predicted, &group, "1").unwrap();
    assert_eq!(r.demographic_parity_difference, 1.0);
    assert_eq!(r.demographic_parity_ratio, Some(0.0));
    // TPR spread 1.0 − 0.5 over a and b; FPR spread 1.0 − 0.0 over a, b, c.
    assert_eq!(r.equalized_odds_difference, 1.0);
    assert_eq!(r.groups[2].true_positive_rate, None);
    let fair = FairnessReport::compute(
        &actual[..8],
        &predicted[..8],
        &["a", "b", "a", "b", "a", "b", "a", "b"],
        "1",
    )
    .unwrap();
    // Alternating groups: a gets predictions 1 1 1 1, b gets 0 0 1 1.
    assert_eq!(fair.groups[0].selection_rate, 1.0);
    assert_eq!(fair.groups[1].selection_rate, 0.5);
    assert_eq!(fair.demographic_parity_ratio, Some(0.5));
    assert!(FairnessReport::compute(&actual, &predicted[..3], &group, "1").is_err());
}

#[test]
fn monitors_are_send() {
    fn send<T: Send>() {}
    send::<Monitor>();
    send::<DriftReport>();
}
