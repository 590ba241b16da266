//! Logistic regression (a `LinearModel` trained with cross-entropy) on a bundled CSV, with
//! fitted preprocessing, on a stratified 80/20 split (seed 0).
//!
//! ```text
//! cargo run --release -p kiln-examples --bin tabular -- iris
//! cargo run --release -p kiln-examples --bin tabular -- wine --save-split /tmp/wine.json
//! .venv/bin/python benches/sklearn_tabular.py wine /tmp/wine.json   # the same split in sklearn
//! ```

use std::process::ExitCode;

use anyhow::bail;
use clap::Parser;
use kiln::data::{
    ColumnType, Impute, LabeledDataset, PreprocessorConfig, Table, Targets, datasets, split,
};
use kiln::models::LinearModelConfig;
use kiln::train::{ClassificationSet, ConfusionMatrix, TrainConfig, Trainer};

/// Train a logistic regression on a bundled tabular dataset.
#[derive(Parser)]
struct Args {
    /// A bundled classification dataset: iris, wine, breast_cancer, digits_8x8, penguins,
    /// credit_g, winequality_red.
    name: String,
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
    if target.column_type() == ColumnType::Float {
        bail!(
            "`{}` is a regression dataset; regression training is not built yet",
            args.name
        );
    }
    let (codes, names) = target.class_codes()?;
    let parts = split::stratified_holdout(&codes, 0.2, args.run.seed)?;
    if let Some(path) = &args.save_split {
        std::fs::write(path, serde_json::to_string(&parts)?)?;
    }
    let (train, test) = (table.take(&parts.train), table.take(&parts.test));
    let prep = PreprocessorConfig::default()
        .with_impute(Impute::Median)
        .fit(&train)?;
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
    let (train, test) = (set(&train, &parts.train)?, set(&test, &parts.test)?);
    let config = TrainConfig::new(args.epochs, args.batch_size, args.lr)
        .with_weight_decay(args.weight_decay)
        .with_seed(args.run.seed);
    let mut trainer = Trainer::new(config, args.run.device()?)?.with_progress(false);
    let model =
        trainer.init_model(|d| LinearModelConfig::new(train.n_features(), names.len()).init(d))?;
    let fitted = trainer.fit(model, &train, None)?;
    let predicted = trainer.predict(&fitted.model, test.features())?;
    let confusion = ConfusionMatrix::new(test.labels(), &predicted, names.len())?;
    println!(
        "{}: {} train / {} test rows, {} features, {} classes",
        args.name,
        train.len(),
        test.len(),
        train.n_features(),
        names.len()
    );
    println!(
        "test accuracy {:.4}  macro F1 {:.4}  (precision {:.4}, recall {:.4})",
        confusion.accuracy(),
        confusion.macro_f1(),
        confusion.macro_precision(),
        confusion.macro_recall()
    );
    print!("{confusion}");
    Ok(())
}
