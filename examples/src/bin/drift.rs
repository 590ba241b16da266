//! Monitoring a deployed model: loads the `credit_g` logistic-regression bundle (training it
//! first when `bundles/credit_g` does not exist), replays its held-out rows, then a shifted
//! copy of them (applicants 15 years older asking for 1.5× the credit, more of them without
//! a checking account), through a `Monitor` in windows of 100 requests, with labels arriving
//! for each batch; prints each window's verdict and alerts, then the drift report between the
//! training profile and the shifted rows.
//!
//! ```text
//! cargo run --release -p kiln-examples --bin drift
//! ```

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use kiln::data::{Column, ColumnData, Table, TableProfile, datasets, datasets::Datasets, split};
use kiln::models::LinearModel;
use kiln::monitor::{
    Alert, ColumnValues, DriftConfig, DriftReport, Monitor, MonitorConfig, Outputs, Snapshot,
    SnapshotColumn, Window,
};
use kiln::pipeline::{ModelKind, Pipeline, PipelineConfig};
use kiln::train::Bundle;

/// Replay a shifted copy of a dataset through a model bundle's monitor.
#[derive(Parser)]
struct Args {
    /// Requests per monitoring window.
    #[arg(long, default_value_t = 100)]
    window: u64,
    /// Print the final drift report as JSON instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    run: kiln_examples::RunArgs,
}

fn main() -> ExitCode {
    kiln_examples::exit_code(run(Args::parse()).map(|()| ExitCode::SUCCESS))
}

fn run(args: Args) -> anyhow::Result<()> {
    let table = datasets::tabular("credit_g")?;
    let (codes, _) = table
        .target()
        .context("credit_g has a target")?
        .class_codes()?;
    let parts = split::stratified_holdout(&codes, 0.2, args.run.seed)?;
    let dir = args.run.bundle_dir("credit_g");
    let device = args.run.device()?;
    if !dir.join("bundle.json").exists() {
        println!("no bundle at {}; training one", dir.display());
        // The pipeline splits credit_g as above (stratified 80/20, the same seed).
        let path = Datasets::locate().path("tabular/credit_g.csv")?;
        let mut config = PipelineConfig::new(path)
            .with_target("label")
            .with_model(ModelKind::Linear)
            .with_seed(args.run.seed);
        config.train.epochs = Some(100);
        config.train.device = Some(args.run.device.clone());
        config.output.bundle = Some(dir.clone());
        let result = Pipeline::new(config).run()?;
        println!("test {}", result.metrics);
    }
    let bundle = Bundle::<LinearModel>::load(&dir, &device)?;
    // The bundle's monitor compares predictions with the training labels; the model's own
    // predictions on the training rows are the fairer reference (a classifier predicts
    // the majority class more often than it occurs).
    let train_predictions =
        bundle.class_names(&bundle.predict_table(&table.take(&parts.train), &device)?)?;
    let mut counts = std::collections::BTreeMap::new();
    for p in train_predictions {
        *counts.entry(p).or_insert(0.0) += 1.0;
    }
    let mut monitor = Monitor::from_bundle(&dir, MonitorConfig::new(Window::Rows(args.window)))?
        .with_prediction_reference(SnapshotColumn {
            name: "label".into(),
            values: ColumnValues::Categorical(counts),
            missing: 0,
        })
        .with_alert_sink(|alert| println!("  ALERT {}", describe(alert)));
    println!(
        "monitoring {} input columns of {} in windows of {} requests",
        monitor.reference().columns().len(),
        dir.display(),
        args.window
    );
    let test = table.take(&parts.test);
    let shifted = shift(&test)?;
    for (phase, rows) in [("held-out rows", &test), ("shifted copy", &shifted)] {
        println!("replaying the {phase} ({} requests)", rows.rows());
        for start in (0..rows.rows()).step_by(50) {
            let batch = rows.take(&(start..(start + 50).min(rows.rows())).collect::<Vec<_>>());
            let predicted = bundle.class_names(&bundle.predict_table(&batch, &device)?)?;
            let reports = monitor.observe(&batch, Outputs::Classes(&predicted))?;
            monitor.observe_labels(
                Outputs::Classes(&predicted),
                Outputs::Classes(&labels(&batch)?),
            )?;
            for w in reports {
                println!(
                    "window {:>2}: {} requests, {} of {} inputs drifted, prediction drift {}, \
                     accuracy {}",
                    w.window,
                    w.rows,
                    w.features.drifted_columns,
                    w.features.columns.len(),
                    w.predictions.as_ref().map_or("n/a".into(), |p| format!(
                        "{} {:.4}",
                        if p.drifted { "YES" } else { "no" },
                        p.score
                    )),
                    w.accuracy.map_or("n/a".into(), |a| format!("{a:.3}")),
                );
            }
        }
    }
    if let Some(w) = monitor.flush()? {
        println!("last window {}: {} requests", w.window, w.rows);
    }
    let profile = TableProfile::from_json(&std::fs::read_to_string(dir.join("profile.json"))?)?;
    let reference = Snapshot::from_profile(&profile).without("label");
    let report = DriftReport::compute(
        &reference,
        &Snapshot::from_table(&shifted)?.without("label"),
        &DriftConfig::default(),
    )?;
    println!("\ndrift report: training profile vs the shifted copy");
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{report}");
    }
    Ok(())
}

fn labels(rows: &Table) -> anyhow::Result<Vec<String>> {
    let label = rows.column("label")?;
    Ok((0..rows.rows())
        .map(|r| label.text_at(r).map(|t| t.into_owned()).unwrap_or_default())
        .collect())
}

/// Older applicants, bigger loans, and half of the "<0" checking accounts become "no checking".
fn shift(rows: &Table) -> anyhow::Result<Table> {
    let columns = rows
        .columns()
        .iter()
        .map(|c| match (c.name(), c.data()) {
            ("age", ColumnData::Integer(v)) => Column::new(
                "age",
                ColumnData::Integer(v.iter().map(|a| a + 15).collect()),
                None,
            ),
            ("credit_amount", ColumnData::Integer(v)) => Column::new(
                "credit_amount",
                ColumnData::Integer(v.iter().map(|a| a * 3 / 2).collect()),
                None,
            ),
            ("checking_status", ColumnData::Categorical { codes, levels }) => {
                let mut levels = levels.clone();
                let from = levels.iter().position(|l| l == "<0");
                let to = match levels.iter().position(|l| l == "no checking") {
                    Some(i) => i,
                    None => {
                        levels.push("no checking".into());
                        levels.len() - 1
                    }
                };
                let codes = codes
                    .iter()
                    .enumerate()
                    .map(|(i, &c)| {
                        if Some(c as usize) == from && i % 2 == 0 {
                            to as u32
                        } else {
                            c
                        }
                    })
                    .collect();
                Column::new(
                    "checking_status",
                    ColumnData::Categorical { codes, levels },
                    None,
                )
            }
            _ => c.clone(),
        })
        .collect();
    Ok(Table::new(columns)?.with_target("label")?)
}

fn describe(alert: &Alert) -> String {
    match alert {
        Alert::DatasetDrift { window, columns } => {
            format!("window {window}: dataset drift in {}", columns.join(", "))
        }
        Alert::PredictionDrift { window, drift } => format!(
            "window {window}: prediction drift ({:?} score {:.4}, threshold {})",
            drift.test, drift.score, drift.threshold
        ),
        Alert::PerformanceDrop {
            window,
            metric,
            value,
            baseline,
        } => format!("window {window}: {metric} {value:.3} against a baseline of {baseline:.3}"),
        _ => format!("{alert:?}"),
    }
}
