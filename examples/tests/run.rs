//! Every example binary runs to the end on flex with small settings, from an empty working
//! directory, and prints what its doc comment promises. CI builds the examples but nothing else
//! runs them, so an example broken by a library change (as `spam` was, by the pipeline's text
//! format asking for one feature column) would otherwise go unseen.

use std::path::Path;
use std::process::Command;

/// Runs an example in `dir`, offline, and returns its standard output; panics with both streams
/// when it does not exit with status 0.
fn run(bin: &str, dir: &Path, args: &[&str]) -> String {
    let output = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .env("KILN_OFFLINE", "1")
        .output()
        .unwrap_or_else(|e| panic!("{bin} did not start: {e}"));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(
        output.status.success(),
        "{bin} {args:?}: {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    stdout
}

/// The number after the first `test accuracy ` in an example's output.
fn accuracy(stdout: &str) -> f64 {
    stdout
        .lines()
        .find_map(|line| {
            line.split_once("test accuracy ")?
                .1
                .split_whitespace()
                .next()
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `test accuracy` line in:\n{stdout}"))
}

#[test]
fn tabular_trains_iris_and_wine() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(env!("CARGO_BIN_EXE_tabular"), dir.path(), &["iris"]);
    assert!(accuracy(&out) > 0.8, "{out}");
    assert!(
        dir.path().join("bundles/iris/bundle.json").exists(),
        "{out}"
    );
    let out = run(
        env!("CARGO_BIN_EXE_tabular"),
        dir.path(),
        &["wine", "--model", "mlp", "--epochs", "30"],
    );
    assert!(accuracy(&out) > 0.8, "{out}");
}

#[test]
fn spam_trains_a_text_classifier() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(env!("CARGO_BIN_EXE_spam"), dir.path(), &["--epochs", "2"]);
    // The README's five epochs give 0.9884; chance (the majority class) is about 0.69.
    assert!(accuracy(&out) > 0.9, "{out}");
    assert!(out.contains("classes: 0 ham, 1 spam"), "{out}");
}

#[test]
fn mnist_and_mnist_cnn_train_one_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(env!("CARGO_BIN_EXE_mnist"), dir.path(), &["--epochs", "1"]);
    assert!(accuracy(&out) > 0.9, "{out}");
    let out = run(
        env!("CARGO_BIN_EXE_mnist_cnn"),
        dir.path(),
        &["--epochs", "1"],
    );
    assert!(accuracy(&out) > 0.95, "{out}");
    assert!(
        dir.path().join("bundles/mnist_lenet/bundle.json").exists(),
        "{out}"
    );
}

#[test]
fn tune_mnist_runs_a_small_study_and_resumes_it() {
    let dir = tempfile::tempdir().unwrap();
    let small = [
        "--trials",
        "2",
        "--jobs",
        "1",
        "--epochs",
        "1",
        "--tune-rows",
        "1000",
    ];
    let out = run(env!("CARGO_BIN_EXE_tune_mnist"), dir.path(), &small);
    assert!(dir.path().join("kiln-runs/tune_mnist.db").exists(), "{out}");
    assert!(accuracy(&out) > 0.8, "{out}");
    // The study is stored: a second run with the same target finds it complete.
    let again = run(env!("CARGO_BIN_EXE_tune_mnist"), dir.path(), &small);
    assert!(again.contains("2 trials done"), "{again}");
}

#[test]
fn drift_trains_a_bundle_and_flags_the_shifted_rows() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(env!("CARGO_BIN_EXE_drift"), dir.path(), &[]);
    assert!(out.contains("no bundle at"), "{out}");
    assert!(out.contains("ALERT"), "{out}");
    assert!(out.contains("drift report"), "{out}");
}

#[test]
fn inspect_and_csv_load_read_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(env!("CARGO_BIN_EXE_inspect"), dir.path(), &["iris"]);
    assert!(out.contains("150"), "{out}");
    let csv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/tabular/wine.csv");
    let out = run(
        env!("CARGO_BIN_EXE_csv_load"),
        dir.path(),
        &[csv.to_str().unwrap()],
    );
    assert!(out.contains("178 rows"), "{out}");
}

#[test]
fn an_unknown_or_missing_device_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tabular"))
        .args(["iris", "--device", "tpu"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("tpu"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
