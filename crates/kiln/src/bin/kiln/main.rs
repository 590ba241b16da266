//! The `kiln` command line: the pipeline (train, validate, evaluate, predict, monitor), runs,
//! reports and drift.
//!
//! ```text
//! kiln train CONFIG.toml
//! kiln train --data FILE --target COL [--model mlp] [--tune 40] [--track DIR|URL] [--output DIR]
//! kiln validate DATA [--target COL] [--checks FILE]
//! kiln evaluate BUNDLE DATA
//! kiln predict BUNDLE DATA -o predictions.csv
//! kiln monitor BUNDLE DATA [--json]
//! kiln runs list [--dir kiln-runs | --mlflow URL] [--experiment NAME]
//! kiln runs show RUN [--dir kiln-runs | --mlflow URL]
//! kiln report [DIR] -o report.html [--mlflow URL] [--experiment NAME]
//! kiln drift REFERENCE.csv CURRENT.csv [--json] [--ignore COLUMN]...
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use kiln::data::CsvLoader;
use kiln::monitor::{DriftConfig, DriftReport, Snapshot};
use kiln::track::{DEFAULT_DIR, LocalStore, MlflowStore, Report, Store};

mod pipeline;

/// Kiln: train, validate, evaluate, predict and monitor; runs, reports and drift.
#[derive(Parser)]
#[command(name = "kiln", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model from a data file (or a pipeline config) into a bundle.
    Train(Box<pipeline::TrainArgs>),
    /// Run data-quality checks on a data file.
    Validate(pipeline::ValidateArgs),
    /// Score a bundle on labelled data.
    Evaluate {
        /// The bundle directory.
        bundle: PathBuf,
        /// The data (same format as the training data, with the target).
        data: PathBuf,
        /// The device.
        #[arg(long, default_value = "flex")]
        device: String,
    },
    /// Predict every row of a data file with a bundle.
    Predict {
        /// The bundle directory.
        bundle: PathBuf,
        /// The data (same format as the training data; the target is not needed).
        data: PathBuf,
        /// The CSV file to write.
        #[arg(short, long, default_value = "predictions.csv")]
        output: PathBuf,
        /// The device.
        #[arg(long, default_value = "flex")]
        device: String,
    },
    /// Input and prediction drift of new data against a bundle's training profile.
    Monitor {
        /// The bundle directory.
        bundle: PathBuf,
        /// The new data.
        data: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// The device.
        #[arg(long, default_value = "flex")]
        device: String,
    },
    /// List or show tracked runs.
    Runs {
        #[command(subcommand)]
        command: RunsCommand,
    },
    /// Write a self-contained HTML report of a store's runs.
    Report {
        /// The local store directory.
        #[arg(default_value = DEFAULT_DIR)]
        dir: PathBuf,
        /// Read from an MLflow server instead.
        #[arg(long)]
        mlflow: Option<String>,
        /// Only this experiment.
        #[arg(long)]
        experiment: Option<String>,
        /// The HTML file to write.
        #[arg(short, long, default_value = "report.html")]
        output: PathBuf,
    },
    /// Compare two CSV files column by column and print the drift report.
    Drift {
        /// The reference data (e.g. the training set).
        reference: PathBuf,
        /// The current data.
        current: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Leave a column out (repeatable).
        #[arg(long)]
        ignore: Vec<String>,
    },
}

#[derive(Args)]
struct StoreArgs {
    /// The local store directory.
    #[arg(long, default_value = DEFAULT_DIR)]
    dir: PathBuf,
    /// Read from an MLflow server instead (e.g. http://127.0.0.1:5000).
    #[arg(long)]
    mlflow: Option<String>,
}

impl StoreArgs {
    fn open(&self) -> Result<Arc<dyn Store>> {
        Ok(match &self.mlflow {
            Some(url) => Arc::new(MlflowStore::new(url)),
            None => {
                if !self.dir.exists() {
                    anyhow::bail!(
                        "no runs at {}: nothing has been tracked there yet (pass --dir or --mlflow)",
                        self.dir.display()
                    );
                }
                Arc::new(LocalStore::new(&self.dir))
            }
        })
    }
}

#[derive(Subcommand)]
enum RunsCommand {
    /// One line per run.
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// Only this experiment.
        #[arg(long)]
        experiment: Option<String>,
    },
    /// A run's params, tags, metrics and artifacts.
    Show {
        /// The run id (a unique prefix is enough).
        run: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        // Failed quality checks were printed already: status 1, as a linter's.
        Err(e) if e.is::<pipeline::ChecksFailed>() => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {}", kiln::pipeline::error_line(e.as_ref()));
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train(args) => pipeline::train(*args)?,
        Command::Validate(args) => {
            if !pipeline::validate(args)? {
                return Err(pipeline::ChecksFailed.into());
            }
        }
        Command::Evaluate {
            bundle,
            data,
            device,
        } => pipeline::evaluate(&bundle, &data, &device)?,
        Command::Predict {
            bundle,
            data,
            output,
            device,
        } => pipeline::predict(&bundle, &data, &output, &device)?,
        Command::Monitor {
            bundle,
            data,
            json,
            device,
        } => pipeline::monitor(&bundle, &data, json, &device)?,
        Command::Runs {
            command: RunsCommand::List { store, experiment },
        } => {
            let runs = store.open()?.runs(experiment.as_deref())?;
            if runs.is_empty() {
                println!("no runs");
                return Ok(());
            }
            println!(
                "{:<32}  {:<20}  {:<24}  {:<8}  {:>9}  metrics",
                "id", "experiment", "name", "status", "duration"
            );
            for r in runs {
                println!(
                    "{:<32}  {:<20}  {:<24}  {:<8}  {:>9}  {}",
                    r.id,
                    r.experiment,
                    r.name,
                    r.status.as_str(),
                    r.duration().map_or("-".into(), |d| format!("{d:.1} s")),
                    r.metrics.len()
                );
            }
        }
        Command::Runs {
            command: RunsCommand::Show { run, store },
        } => {
            let store = store.open()?;
            let r = match store.run(&run) {
                Ok(r) => r,
                Err(e) => {
                    let matches: Vec<_> = store
                        .runs(None)?
                        .into_iter()
                        .filter(|r| r.id.starts_with(&run))
                        .collect();
                    match <[_; 1]>::try_from(matches) {
                        Ok([r]) => r,
                        Err(m) if m.len() > 1 => {
                            anyhow::bail!("`{run}` matches {} runs; give more of the id", m.len())
                        }
                        Err(_) => return Err(e.into()),
                    }
                }
            };
            println!("run        {}", r.id);
            println!("name       {}", r.name);
            println!("experiment {}", r.experiment);
            println!("status     {}", r.status.as_str());
            if let Some(d) = r.duration() {
                println!("duration   {d:.1} s");
            }
            for (title, map) in [("params", &r.params), ("tags", &r.tags)] {
                if !map.is_empty() {
                    println!("{title}:");
                    for (k, v) in map {
                        println!("  {k} = {v}");
                    }
                }
            }
            if !r.metrics.is_empty() {
                println!("metrics (last value, values logged):");
                for (k, s) in &r.metrics {
                    let last = s.last().map_or(f64::NAN, |p| p.value);
                    println!("  {k} = {last} ({} values)", s.len());
                }
            }
            if !r.artifacts.is_empty() {
                println!("artifacts: {}", r.artifacts.join(", "));
            }
        }
        Command::Report {
            dir,
            mlflow,
            experiment,
            output,
        } => {
            let store = StoreArgs { dir, mlflow }.open()?;
            let report = Report::from_store(store.as_ref(), experiment.as_deref())?;
            report
                .write(&output)
                .with_context(|| format!("writing {}", output.display()))?;
            println!(
                "wrote {} ({} runs from {})",
                output.display(),
                report.runs().len(),
                store.describe()
            );
        }
        Command::Drift {
            reference,
            current,
            json,
            ignore,
        } => {
            let load = |path: &PathBuf| -> Result<Snapshot> {
                let table = CsvLoader::new()
                    .load(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let mut snapshot = Snapshot::from_table(&table)?;
                for column in &ignore {
                    snapshot = snapshot.without(column);
                }
                Ok(snapshot)
            };
            let report = DriftReport::compute(
                &load(&reference)?,
                &load(&current)?,
                &DriftConfig::default(),
            )?;
            if json {
                println!("{}", report.to_json());
            } else {
                print!("{report}");
            }
        }
    }
    Ok(())
}
