//! A linear model on a bundled CSV, with fitted preprocessing: logistic regression
//! (cross-entropy) on a stratified 80/20 split for class targets, linear regression (mean
//! squared error on standardized targets) on a plain 80/20 split for real-valued ones (seed 0).
//!
//! ```text
//! cargo run --release -p kiln-examples --bin tabular -- iris
//! cargo run --release -p kiln-examples --bin tabular -- diabetes
//! cargo run --release -p kiln-examples --bin tabular -- wine --save-split /tmp/wine.json
//! .venv/bin/python benches/sklearn_tabular.py wine /tmp/wine.json   # the same split in sklearn
//! ```

use std::process::ExitCode;

use anyhow::bail;
use clap::Parser;
use kiln::data::{
    ColumnType, Holdout, Impute, LabeledDataset, Preprocessor, PreprocessorConfig, Table,
    TableProfile, Targets, datasets, split,
};
use kiln::models::LinearModelConfig;
use kiln::train::{
    Bundle, ClassificationSet, RegressionMetrics, RegressionSet, Task, TrainConfig, Trainer,
};

/// Train a logistic or linear regression on a bundled tabular dataset.
#[derive(Parser)]
struct Args {
    /// A bundled dataset: iris, wine, breast_cancer, digits_8x8, penguins, credit_g,
    /// winequality_red (classification) or diabetes (regression).
    name: String,
    /// `classification`, `regression`, or `auto`: regression for a float target or an
    /// integer one with more than 20 distinct values.
    #[arg(long, default_value = "auto")]
    task: String,
    /// Passes over the training rows (enough for the convex loss to settle).
    #[arg(long, default_value_t = 300)]
    epochs: usize,
    /// Rows per step.
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 0.01)]
    lr: f64,
    /// L2 penalty.
    #[arg(long, default_value_t = 3e-3)]
    weight_decay: f64,
    #[command(flatten)]
    run: kiln_examples::RunArgs,
    /// Write the split's row indices as JSON (for `benches/sklearn_tabular.py`).
    #[arg(long)]
    save_split: Option<std::path::PathBuf>,
}

fn main() -> ExitCode {
    kiln_examples::exit_code(run(Args::parse()).map(|()| ExitCode::SUCCESS))
}

fn run(args: Args) -> anyhow::Result<()> {
    let table = datasets::tabular(&args.name)?;
    let Some(target) = table.target() else {
        bail!("`{}` has no single target column", args.name);
    };
    let regression = match args.task.as_str() {
        "classification" => false,
        "regression" => true,
        "auto" => {
            target.column_type() == ColumnType::Float
                || (target.column_type() == ColumnType::Integer
                    && target.class_codes()?.1.len() > 20)
        }
        other => bail!("unknown task `{other}`; use classification, regression or auto"),
    };
    if regression {
        regress(&args, &table)
    } else {
        classify(&args, &table)
    }
}

/// The split, preprocessing fitted on its training part, and the training profile.
fn prepare(
    args: &Args,
    table: &Table,
    parts: &Holdout,
) -> anyhow::Result<(Table, Table, Preprocessor)> {
    if let Some(path) = &args.save_split {
        std::fs::write(path, serde_json::to_string(parts)?)?;
    }
    let (train, test) = (table.take(&parts.train), table.take(&parts.test));
    let prep = PreprocessorConfig::default()
        .with_impute(Impute::Median)
        .fit(&train)?;
    Ok((train, test, prep))
}

fn trainer(args: &Args) -> anyhow::Result<Trainer> {
    let config = TrainConfig::new(args.epochs, args.batch_size, args.lr)
        .with_weight_decay(args.weight_decay)
        .with_seed(args.run.seed);
    Ok(Trainer::new(config, args.run.device()?)?.with_progress(false))
}

fn classify(args: &Args, table: &Table) -> anyhow::Result<()> {
    let (codes, names) = table.target().expect("checked").class_codes()?;
    let parts = split::stratified_holdout(&codes, 0.2, args.run.seed)?;
    let (train_table, test_table, prep) = prepare(args, table, &parts)?;
    let set = |t: &Table, rows: &[usize]| -> anyhow::Result<ClassificationSet> {
        let targets = Targets::Classes {
            codes: rows.iter().map(|&r| codes[r]).collect(),
            names: names.clone(),
        };
        Ok(ClassificationSet::from_labeled(&LabeledDataset::new(
            prep.transform(t)?,
            targets,
        )?)?)
    };
    let (train, test) = (
        set(&train_table, &parts.train)?,
        set(&test_table, &parts.test)?,
    );
    let mut trainer = trainer(args)?;
    let model_config = LinearModelConfig::new(train.n_features(), names.len());
    let model = trainer.init_model(|d| model_config.init(d))?;
    let fitted = trainer.fit(model, &train, None)?;
    println!(
        "{}: classification, {} train / {} test rows, {} features, {} classes",
        args.name,
        train.len(),
        test.len(),
        train.n_features(),
        names.len()
    );
    let (metrics, confusion) =
        kiln_examples::classification_metrics(&trainer, &fitted.model, &test)?;
    println!(
        "test macro precision {:.4}, macro recall {:.4}",
        confusion.macro_precision(),
        confusion.macro_recall()
    );
    print!("{confusion}");
    let bundle = Bundle::new(
        fitted.model,
        model_config,
        trainer.config().clone(),
        Task::Classification { classes: names },
    )
    .with_metrics(metrics)
    .with_preprocessor(prep)
    .with_profile(TableProfile::from_table(&train_table));
    kiln_examples::save_bundle(&bundle, &args.run.bundle_dir(&args.name))
}

fn regress(args: &Args, table: &Table) -> anyhow::Result<()> {
    let values = table.target().expect("checked").to_f32_values()?;
    let parts = split::holdout(table.rows(), 0.2, args.run.seed)?;
    let (train_table, test_table, prep) = prepare(args, table, &parts)?;
    // Standardize the targets with the training part's mean and deviation.
    let n = parts.train.len() as f64;
    let mean = parts
        .train
        .iter()
        .map(|&r| f64::from(values[r]))
        .sum::<f64>()
        / n;
    let var = parts
        .train
        .iter()
        .map(|&r| (f64::from(values[r]) - mean).powi(2))
        .sum::<f64>()
        / n;
    let std = if var > 0.0 { var.sqrt() } else { 1.0 };
    let set = |t: &Table, rows: &[usize]| -> anyhow::Result<RegressionSet> {
        let y = rows
            .iter()
            .map(|&r| ((f64::from(values[r]) - mean) / std) as f32)
            .collect();
        Ok(RegressionSet::new(prep.transform(t)?, y)?)
    };
    let (train, test) = (
        set(&train_table, &parts.train)?,
        set(&test_table, &parts.test)?,
    );
    let mut trainer = trainer(args)?;
    let model_config = LinearModelConfig::new(train.n_features(), 1);
    let model = trainer.init_model(|d| model_config.init(d))?;
    let fitted = trainer.fit(model, &train, None)?;
    println!(
        "{}: regression, {} train / {} test rows, {} features",
        args.name,
        train.len(),
        test.len(),
        train.n_features()
    );
    let bundle = Bundle::new(
        fitted.model,
        model_config,
        trainer.config().clone(),
        Task::Regression {
            target_mean: mean as f32,
            target_std: std as f32,
        },
    )
    .with_preprocessor(prep)
    .with_profile(TableProfile::from_table(&train_table));
    // Metrics in the targets' own units, through the bundle's prediction path.
    let predicted = bundle.values(&bundle.predict_table(&test_table, trainer.device())?)?;
    let truth: Vec<f32> = parts.test.iter().map(|&r| values[r]).collect();
    let metrics = RegressionMetrics::new(&truth, &predicted)?;
    println!(
        "test R² {:.4}  MSE {:.2}  MAE {:.2}",
        metrics.r2, metrics.mse, metrics.mae
    );
    let bundle = bundle.with_metrics([
        ("test_r2", metrics.r2),
        ("test_mse", metrics.mse),
        ("test_mae", metrics.mae),
    ]);
    kiln_examples::save_bundle(&bundle, &args.run.bundle_dir(&args.name))
}
