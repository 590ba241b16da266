//! Trains a model on a CSV (a bundled dataset by name, or any file by path) through the
//! pipeline: a linear model by default (logistic regression on a stratified 80/20 split for
//! classes, linear regression on a plain 80/20 split for values, seed 0), or an MLP, tuned or
//! not.
//!
//! ```text
//! cargo run --release -p kiln-examples --bin tabular -- iris
//! cargo run --release -p kiln-examples --bin tabular -- diabetes
//! cargo run --release -p kiln-examples --bin tabular -- penguins --model mlp --tune 30
//! cargo run --release -p kiln-examples --bin tabular -- my.csv --target price
//! cargo run --release -p kiln-examples --bin tabular -- wine --save-split /tmp/wine.json
//! .venv/bin/python benches/sklearn_tabular.py wine /tmp/wine.json   # the same split in sklearn
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use kiln::data::{datasets, datasets::Datasets};
use kiln::pipeline::{ModelKind, Pipeline, PipelineConfig, TuneSection};

/// Train a model on a table.
#[derive(Parser)]
struct Args {
    /// A bundled dataset (iris, wine, breast_cancer, digits_8x8, penguins, credit_g,
    /// winequality_red, diabetes) or the path of a CSV file.
    data: String,
    /// The column to predict [default for bundled datasets: their target].
    #[arg(long)]
    target: Option<String>,
    /// linear or mlp.
    #[arg(long, default_value = "linear", value_parser = ["linear", "mlp"])]
    model: String,
    /// Passes over the training rows [default: 300].
    #[arg(long)]
    epochs: Option<usize>,
    /// Tune the model with this many trials.
    #[arg(long)]
    tune: Option<usize>,
    #[command(flatten)]
    run: kiln_examples::RunArgs,
    /// Write the split's row indices as JSON (for `benches/sklearn_tabular.py`).
    #[arg(long)]
    save_split: Option<PathBuf>,
}

fn main() -> ExitCode {
    kiln_examples::exit_code(run(Args::parse()).map(|()| ExitCode::SUCCESS))
}

fn run(args: Args) -> anyhow::Result<()> {
    let (path, target, name) = if datasets::TABULAR.contains(&args.data.as_str()) {
        // A bundled dataset: found and checksum-verified as `datasets::tabular` does.
        let table = datasets::tabular(&args.data)?;
        let target = table.target().map(|t| t.name().to_owned());
        let path = Datasets::locate().path(&format!("tabular/{}.csv", args.data))?;
        (path, target, args.data.clone())
    } else {
        let path = PathBuf::from(&args.data);
        let name = kiln::pipeline::stem(&path);
        (path, None, name)
    };
    let mut config = PipelineConfig::new(path)
        .with_seed(args.run.seed)
        .with_model(if args.model == "mlp" {
            ModelKind::Mlp
        } else {
            ModelKind::Linear
        });
    config.data.target = args.target.clone().or(target);
    config.train.epochs = args.epochs;
    config.train.device = Some(args.run.device.clone());
    config.output.bundle = Some(args.run.bundle_dir(&name));
    config.output.split = args.save_split.clone();
    if let Some(trials) = args.tune {
        config.tune = Some(TuneSection {
            trials: Some(trials),
            ..TuneSection::default()
        });
    }
    let result = Pipeline::new(config).run()?;
    let s = result.split;
    println!(
        "{name}: {} train / {} valid / {} test rows",
        s.train, s.valid, s.test
    );
    println!("test {}", result.metrics);
    if let kiln::pipeline::TestMetrics::Classification(c) = &result.metrics {
        print!("{}", c.confusion);
    }
    println!("saved the model bundle to {}", result.bundle.display());
    Ok(())
}
