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
//! kiln serve BUNDLE [--host 127.0.0.1] [--port 8080] [--token T] [--window 1000|10m]
//! kiln study copy FROM TO --study NAME [--direction maximize]
//! kiln runs list [--dir kiln-runs | --mlflow URL] [--experiment NAME]
//! kiln runs show RUN [--dir kiln-runs | --mlflow URL]
//! kiln report [DIR] -o report.html [--mlflow URL] [--experiment NAME]
//! kiln drift REFERENCE.csv CURRENT.csv [--json] [--ignore COLUMN]...
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use kiln::data::CsvLoader;
use kiln::monitor::{DriftConfig, DriftReport, Snapshot, Window};
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
        /// The file to write: CSV, or Parquet when it ends in `.parquet`.
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
    /// Serve a bundle over HTTP (MLflow scoring, Open Inference Protocol, metrics, monitor).
    Serve(Box<ServeArgs>),
    /// Tuning studies in a storage (a SQLite file or a `postgres://` URL).
    Study {
        #[command(subcommand)]
        command: StudyCommand,
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
struct ServeArgs {
    /// The bundle directory.
    bundle: PathBuf,
    /// The address to bind (127.0.0.1: this machine only; 0.0.0.0: every interface).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The port (0: any free one, printed at start).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Require `Authorization: Bearer TOKEN` on every route but the health probes.
    #[arg(long, env = "KILN_SERVE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The model's name in `/v2/models/{name}` (default: the bundle directory's name).
    #[arg(long)]
    name: Option<String>,
    /// The device.
    #[arg(long, default_value = "flex")]
    device: String,
    /// Threads running forward passes (sharing one model).
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// The most rows one forward pass gathers from concurrent requests.
    #[arg(long, default_value_t = 256)]
    max_batch: usize,
    /// How long a forward pass waits for concurrent requests to join it, in milliseconds (0:
    /// it takes those queued while the previous pass ran, adding no latency).
    #[arg(long, default_value_t = 0.0)]
    batch_wait_ms: f64,
    /// The largest request body, in bytes.
    #[arg(long, default_value_t = 16 << 20)]
    max_body: usize,
    /// Monitor windows: a row count (`1000`) or a duration (`30s`, `10m`, `1h`).
    #[arg(long, default_value = "1000")]
    window: String,
    /// Append each closed monitor window to this file (one JSON line each).
    #[arg(long)]
    monitor_log: Option<PathBuf>,
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
enum StudyCommand {
    /// Copy a study, every trial intact, between storages (e.g. SQLite to PostgreSQL).
    Copy {
        /// The source: a SQLite file (`sqlite:PATH` or a path) or `postgres://…`.
        from: String,
        /// The target, likewise; the study must not have trials there yet.
        to: String,
        /// The study's name.
        #[arg(long)]
        study: String,
        /// The study's direction: minimize or maximize; one per objective, comma-separated,
        /// for a multi-objective study (`maximize,minimize`).
        #[arg(long, default_value = "minimize", value_delimiter = ',')]
        direction: Vec<kiln::tune::Direction>,
    },
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
        Command::Serve(args) => serve(*args)?,
        Command::Study {
            command:
                StudyCommand::Copy {
                    from,
                    to,
                    study,
                    direction,
                },
        } => {
            use kiln::tune::{copy_study, open_storage};
            let source = open_storage(&from).with_context(|| format!("opening {from}"))?;
            let target = open_storage(&to).context("opening the target storage")?;
            let n = copy_study(source.as_ref(), target.as_ref(), &study, &direction)?;
            println!("copied study `{study}`: {n} trials");
        }
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

fn serve(args: ServeArgs) -> Result<()> {
    use kiln::serve::{ServeConfig, Server};

    let window = parse_window(&args.window)?;
    if !(args.batch_wait_ms >= 0.0 && args.batch_wait_ms.is_finite()) {
        anyhow::bail!("--batch-wait-ms {}: use a number ≥ 0", args.batch_wait_ms);
    }
    let mut config = ServeConfig::default()
        .with_host(&args.host)
        .with_port(args.port)
        .with_device(&args.device)
        .with_workers(args.workers)
        .with_max_batch(args.max_batch)
        .with_batch_wait(Duration::from_secs_f64(args.batch_wait_ms / 1000.0))
        .with_max_body(args.max_body)
        .with_window(window)
        .with_signals(true);
    if let Some(t) = args.token {
        config = config.with_token(t);
    }
    if let Some(n) = args.name {
        config = config.with_name(n);
    }
    if let Some(log) = args.monitor_log {
        config = config.with_monitor_log(log);
    }
    let server = Server::start(&args.bundle, config)?;
    // Tests and scripts read this line for the port.
    println!("kiln serve: listening on http://{}", server.addr());
    server.wait()?;
    eprintln!("kiln serve: stopped");
    Ok(())
}

/// `--window`: rows (`1000`) or a duration (`30s`, `10m`, `1h`).
fn parse_window(text: &str) -> Result<Window> {
    let text = text.trim();
    if let Ok(rows) = text.parse::<u64>() {
        return Ok(Window::Rows(rows));
    }
    let (number, unit) =
        text.split_at(text.find(|c: char| c.is_alphabetic()).unwrap_or(text.len()));
    let seconds = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => {
            anyhow::bail!("--window {text}: give rows (`1000`) or a duration (`30s`, `10m`, `1h`)")
        }
    };
    let n: f64 = number
        .parse()
        .ok()
        .filter(|n: &f64| *n > 0.0 && n.is_finite())
        .with_context(|| {
            format!("--window {text}: give rows (`1000`) or a duration (`30s`, `10m`, `1h`)")
        })?;
    Ok(Window::Duration(Duration::from_secs_f64(n * seconds)))
}
