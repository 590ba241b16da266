//! `kiln train`, `validate`, `evaluate`, `predict` and `monitor`: the pipeline behind a
//! command line.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use kiln::data::Task;
use kiln::pipeline::{
    self, ModelKind, Pipeline, PipelineConfig, Policy, TestMetrics, TrackSection, TuneSection,
};

/// `kiln train`.
#[derive(Args)]
pub struct TrainArgs {
    /// A pipeline config (TOML or JSON); the flags below override it.
    config: Option<PathBuf>,
    /// The data file, or a directory: Parquet parts, IDX files, CIFAR binaries, or an image
    /// folder (one sub-directory of PNG/JPEG files per class).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Image folders: resize every image to HEIGHTxWIDTH (e.g. 64x64).
    #[arg(long, value_parser = parse_image_size)]
    image_size: Option<[usize; 2]>,
    /// The column to predict (tables and texts).
    #[arg(long)]
    target: Option<String>,
    /// auto, classification or regression.
    #[arg(long, value_parser = ["auto", "classification", "regression"])]
    task: Option<String>,
    /// A test file instead of a split.
    #[arg(long)]
    test: Option<PathBuf>,
    /// A column to leave out of the features (repeatable).
    #[arg(long)]
    ignore: Vec<String>,
    /// auto, linear, mlp, cnn, resnet or text.
    #[arg(long, value_parser = ["auto", "linear", "mlp", "cnn", "resnet", "text"])]
    model: Option<String>,
    /// Passes over the training data.
    #[arg(long)]
    epochs: Option<usize>,
    /// Search this many trials over the default (or the config's) space.
    #[arg(long)]
    tune: Option<usize>,
    /// Keep the study here so other processes or machines join it: a SQLite file, or
    /// `postgres://user@host/db` (each worker runs its --tune trials of the one study).
    #[arg(long, requires = "tune")]
    storage: Option<String>,
    /// Track the run in a local directory, or an MLflow server (`http://…`).
    #[arg(long)]
    track: Option<String>,
    /// The bundle directory [default: bundles/<data stem>].
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Write an HTML report of the tracked runs here (needs --track).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Write the split's row indices here as JSON (to train another library on them).
    #[arg(long)]
    split_out: Option<PathBuf>,
    /// Seed of the split, the weights, shuffling and the search.
    #[arg(long)]
    seed: Option<u64>,
    /// The device: flex, ndarray, cpu, wgpu or cuda.
    #[arg(long)]
    device: Option<String>,
    /// Print only the summary, no stages or epochs.
    #[arg(long, short)]
    quiet: bool,
}

/// `kiln validate`.
#[derive(Args)]
pub struct ValidateArgs {
    /// The data file.
    data: PathBuf,
    /// The target column (adds its checks: present in every row, class balance).
    #[arg(long)]
    target: Option<String>,
    /// A TOML or JSON suite of further checks.
    #[arg(long)]
    checks: Option<PathBuf>,
}

/// Failed quality checks (already printed): exit status 1.
#[derive(Debug)]
pub struct ChecksFailed;

impl std::fmt::Display for ChecksFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("quality checks failed")
    }
}

impl std::error::Error for ChecksFailed {}

/// `64x64` → `[64, 64]` (height, width).
fn parse_image_size(text: &str) -> std::result::Result<[usize; 2], String> {
    let parse = |s: &str| s.trim().parse::<usize>().ok().filter(|&v| v > 0);
    match text.split_once(['x', 'X', '×']) {
        Some((h, w)) => match (parse(h), parse(w)) {
            (Some(h), Some(w)) => Ok([h, w]),
            _ => Err(format!("`{text}`: give HEIGHTxWIDTH in pixels, e.g. 64x64")),
        },
        None => Err(format!("`{text}`: give HEIGHTxWIDTH in pixels, e.g. 64x64")),
    }
}

/// The config from a file and the flags.
fn config(args: &TrainArgs) -> Result<PipelineConfig> {
    let mut config = match (&args.config, &args.data) {
        (Some(file), _) => PipelineConfig::from_file(file)?,
        (None, Some(data)) => PipelineConfig::new(data),
        (None, None) => anyhow::bail!(
            "name a config file (`kiln train pipeline.toml`) or the data (`kiln train --data \
             FILE --target COLUMN`)"
        ),
    };
    if let Some(data) = &args.data {
        config.data.path = data.clone();
    }
    if let Some(target) = &args.target {
        config.data.target = Some(target.clone());
    }
    if let Some(size) = args.image_size {
        config.data.image_size = Some(size);
    }
    if let Some(task) = &args.task {
        config.data.task = match task.as_str() {
            "classification" => Task::Classification,
            "regression" => Task::Regression,
            _ => Task::Auto,
        };
    }
    if let Some(test) = &args.test {
        config.data.test_path = Some(test.clone());
    }
    config.data.ignore.extend(args.ignore.iter().cloned());
    if let Some(model) = &args.model {
        config.model.kind = match model.as_str() {
            "linear" => ModelKind::Linear,
            "mlp" => ModelKind::Mlp,
            "cnn" => ModelKind::Cnn,
            "resnet" => ModelKind::Resnet,
            "text" => ModelKind::Text,
            _ => ModelKind::Auto,
        };
    }
    if let Some(epochs) = args.epochs {
        config.train.epochs = Some(epochs);
    }
    if let Some(trials) = args.tune {
        config.tune.get_or_insert_with(TuneSection::default).trials = Some(trials);
    }
    if let Some(url) = &args.storage {
        config.tune.get_or_insert_with(TuneSection::default).storage = Some(url.clone());
    }
    if let Some(uri) = &args.track {
        config.track = Some(TrackSection {
            uri: uri.clone(),
            experiment: config.track.as_ref().and_then(|t| t.experiment.clone()),
        });
    }
    if let Some(output) = &args.output {
        config.output.bundle = Some(output.clone());
    }
    if let Some(report) = &args.report {
        config.output.report = Some(report.clone());
    }
    if let Some(split) = &args.split_out {
        config.output.split = Some(split.clone());
    }
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    if let Some(device) = &args.device {
        config.train.device = Some(device.clone());
    }
    Ok(config)
}

/// `kiln train`.
pub fn train(args: TrainArgs) -> Result<()> {
    let result = Pipeline::new(config(&args)?)
        .with_progress(!args.quiet)
        .run()?;
    if args.quiet {
        print!("{}", result.quality.checks);
    }
    let s = result.split;
    println!(
        "rows: {} train, {} valid, {} test",
        s.train, s.valid, s.test
    );
    if let Some(study) = &result.study {
        println!(
            "tuned: {} trials ({} completed, {} pruned); best trial {}: {}",
            study.trials,
            study.completed,
            study.pruned,
            study.best_trial,
            serde_json::to_string(&study.best_params)?
        );
    }
    for (i, fold) in result.folds.iter().enumerate() {
        println!("fold {}: {fold}", i + 1);
    }
    print_metrics(&result.metrics, &result.unknown_categories);
    println!("bundle: {}", result.bundle.display());
    println!("config: {}", result.bundle.join("pipeline.toml").display());
    if let Some(id) = &result.run_id {
        println!("run: {id}");
    }
    if let Some(report) = &result.report {
        println!("report: {}", report.display());
    }
    Ok(())
}

fn print_metrics(metrics: &TestMetrics, unknown: &std::collections::BTreeMap<String, u64>) {
    match metrics {
        TestMetrics::Classification(c) => {
            let mut line = format!(
                "test accuracy {:.4}  log_loss {:.4}  macro_f1 {:.4}",
                c.accuracy, c.log_loss, c.macro_f1
            );
            if let Some(t) = c.top2_accuracy {
                line.push_str(&format!("  top2_accuracy {t:.4}"));
            }
            println!("{line}");
        }
        TestMetrics::Regression(r) => {
            println!("test r2 {:.4}  rmse {:.4}  mae {:.4}", r.r2, r.rmse, r.mae)
        }
    }
    for (column, count) in unknown {
        println!("unknown categories: {count} value(s) of `{column}` unseen in training (ignored)");
    }
}

/// `kiln validate`: prints the report; `false` when a check failed.
pub fn validate(args: ValidateArgs) -> Result<bool> {
    let mut config = PipelineConfig::new(&args.data);
    config.data.target = args.target.clone();
    config.validate.checks_file = args.checks.clone();
    config.validate.policy = Policy::Warn;
    let data = match &args.target {
        Some(_) => Pipeline::new(config.clone()).load()?,
        None => {
            // No target: read the table as it is.
            pipeline::load_table(&args.data)?
        }
    };
    if args.target.is_some() {
        config.data.task = data.task(Task::Auto)?;
    }
    let quality = Pipeline::validate(&config, &data)?;
    print!("{}", quality.checks);
    if !quality.warnings.passed() {
        println!("warnings (imputed or tolerated when training):");
        for failure in quality.warnings.failures() {
            println!("  {} ({} rows)", failure.description, failure.failing);
        }
    }
    Ok(quality.checks.passed())
}

/// `kiln evaluate`.
pub fn evaluate(bundle: &Path, data: &Path, device: &str) -> Result<()> {
    let device = kiln::backend::device(device)?;
    let evaluation = pipeline::evaluate(bundle, data, &device)?;
    println!("{} rows", evaluation.rows);
    print_metrics(&evaluation.metrics, &evaluation.unknown_categories);
    Ok(())
}

/// `kiln predict`.
pub fn predict(bundle: &Path, data: &Path, output: &Path, device: &str) -> Result<()> {
    let device = kiln::backend::device(device)?;
    let (_, predictions) = pipeline::predict(bundle, data, &device)?;
    pipeline::write_predictions(output, &predictions)?;
    println!(
        "wrote {} predictions to {}",
        predictions.len(),
        output.display()
    );
    Ok(())
}

/// `kiln monitor`.
pub fn monitor(bundle: &Path, data: &Path, json: bool, device: &str) -> Result<()> {
    let device = kiln::backend::device(device)?;
    let report = pipeline::monitor(bundle, data, &device)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("{} rows", report.rows);
    print!("{}", report.features);
    if let Some(p) = &report.predictions {
        println!(
            "predictions: {} ({:?} score {:.4}, threshold {:.4})",
            if p.drifted { "DRIFTED" } else { "no drift" },
            p.test,
            p.score,
            p.threshold
        );
    }
    if let Some(a) = report.accuracy {
        println!("accuracy {a:.4} on {} labelled rows", report.labeled);
    }
    if let Some(m) = report.mae {
        println!("mae {m:.4} on {} labelled rows", report.labeled);
    }
    for alert in &report.alerts {
        println!("alert: {}", serde_json::to_string(alert)?);
    }
    Ok(())
}
