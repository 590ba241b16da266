//! Tunes the MNIST MLP with TPE and ASHA pruning on 2 threads, keeping the study in a SQLite
//! file, then retrains the best configuration on all training images and prints its test
//! accuracy. Interrupt it (Ctrl-C) and run it again: the study resumes where it stopped, and a
//! trial that was cut off is failed and re-run.
//!
//! ```text
//! cargo run --release -p kiln-examples --bin tune_mnist
//! cargo run --release -p kiln-examples --bin tune_mnist -- --trials 40 --jobs 2
//! ```

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use kiln::data::TargetEncoder;
use kiln::data::{datasets, datasets::Split, split};
use kiln::models::{Mlp, MlpConfig};
use kiln::tracking::track_trials;
use kiln::train::{Bundle, ClassificationSet, OptimizerKind, TrainConfig, Trainer};
use kiln::tune::SqliteStorage;
use kiln::tune::{
    Direction, Optimize, ParamValue, Study, SuccessiveHalvingPruner, TpeSampler, Trial, TrialState,
};
use kiln::tuning::PruneOnEpoch;

/// Tune an MLP on MNIST.
#[derive(Parser)]
struct Args {
    /// Completed or pruned trials the study should reach (counting earlier runs).
    #[arg(long, default_value_t = 24)]
    trials: usize,
    /// Trials run at once.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Epochs a trial may train (ASHA prunes most earlier).
    #[arg(long, default_value_t = 4)]
    epochs: usize,
    /// Training images used while tuning (the rest of the 60,000 are not used until the
    /// final retraining); 5,000 more are held out for validation.
    #[arg(long, default_value_t = 12_000)]
    tune_rows: usize,
    /// The SQLite file holding the study.
    #[arg(long, default_value = "kiln-runs/tune_mnist.db")]
    storage: std::path::PathBuf,
    /// Study name.
    #[arg(long, default_value = "mnist-mlp")]
    study: String,
    /// Also log every trial as a run (params, intermediate values, objective) to this
    /// tracking directory or MLflow URL; `kiln report DIR` then draws the study.
    #[arg(long)]
    track: Option<String>,
    #[command(flatten)]
    run: kiln_examples::RunArgs,
}

fn main() -> ExitCode {
    kiln_examples::exit_code(run(Args::parse()).map(|()| ExitCode::SUCCESS))
}

/// Parameters as `name=value` pairs, floats to 4 significant digits.
fn show(params: &BTreeMap<String, ParamValue>) -> String {
    params
        .iter()
        .map(|(k, v)| match v {
            ParamValue::Float(x) => format!("{k}={x:.4e}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The hyperparameters of one trial.
struct Choice {
    lr: f64,
    hidden: Vec<usize>,
    dropout: f64,
    batch_size: usize,
    optimizer: OptimizerKind,
}

/// Asks the trial for every hyperparameter (the search space).
fn suggest(trial: &mut Trial) -> kiln::tune::Result<()> {
    trial.suggest_float("lr", 1e-4, 3e-2).log()?;
    let layers = trial.suggest_int("layers", 1, 2).uniform()?;
    trial.suggest_int("hidden_1", 64, 1024).log()?;
    if layers == 2 {
        trial.suggest_int("hidden_2", 32, 512).log()?;
    }
    trial.suggest_float("dropout", 0.0, 0.5).uniform()?;
    trial.suggest_categorical("batch_size", &[64i64, 128, 256])?;
    trial.suggest_categorical("optimizer", &["adam", "adamw", "sgd"])?;
    Ok(())
}

/// The training settings from a trial's parameters (a running trial's, or the best one's).
fn choice(params: &BTreeMap<String, ParamValue>) -> anyhow::Result<Choice> {
    let get = |name: &str| {
        params
            .get(name)
            .ok_or_else(|| anyhow::anyhow!("the trial has no parameter `{name}`"))
    };
    let number = |name: &str| {
        get(name)?
            .as_f64()
            .ok_or_else(|| anyhow::anyhow!("parameter `{name}` is not a number"))
    };
    let mut hidden = vec![number("hidden_1")? as usize];
    if params.contains_key("hidden_2") {
        hidden.push(number("hidden_2")? as usize);
    }
    Ok(Choice {
        lr: number("lr")?,
        hidden,
        dropout: number("dropout")?,
        batch_size: number("batch_size")? as usize,
        optimizer: match get("optimizer")?.to_string().as_str() {
            "adam" => OptimizerKind::Adam,
            "adamw" => OptimizerKind::AdamW,
            _ => OptimizerKind::Sgd { momentum: 0.9 },
        },
    })
}

fn trainer(args: &Args, c: &Choice, epochs: usize) -> anyhow::Result<Trainer> {
    let config = TrainConfig::new(epochs, c.batch_size, c.lr)
        .with_optimizer(c.optimizer)
        .with_seed(args.run.seed);
    Ok(Trainer::new(config, args.run.device()?)?.with_progress(false))
}

fn model_config(c: &Choice) -> MlpConfig {
    MlpConfig::new(784, 10)
        .with_hidden(c.hidden.clone())
        .with_dropout(c.dropout)
}

fn run(args: Args) -> anyhow::Result<()> {
    // An unusable device is one error here, not a failed trial each in the stored study.
    args.run.device()?;
    let full = ClassificationSet::from_mnist(&datasets::mnist(Split::Train)?)?;
    let test = ClassificationSet::from_mnist(&datasets::mnist(Split::Test)?)?;
    let parts =
        split::stratified_holdout(full.labels(), 5_000.0 / full.len() as f64, args.run.seed)?;
    let tune_rows = args.tune_rows.min(parts.train.len());
    let train = full.take(&parts.train[..tune_rows]);
    let valid = full.take(&parts.test);
    if let Some(dir) = args.storage.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let study = Study::builder(&args.study)
        .with_direction(Direction::Maximize)
        .with_storage(Arc::new(SqliteStorage::open(&args.storage)?))
        .with_sampler(TpeSampler::new(args.run.seed))
        .with_pruner(SuccessiveHalvingPruner::new(1, 3))
        .with_heartbeat(Duration::from_secs(2))
        .with_retry_failed(1)
        .load_or_create()?;
    let done = study
        .trials()?
        .iter()
        .filter(|t| matches!(t.state, TrialState::Complete | TrialState::Pruned))
        .count();
    let remaining = args.trials.saturating_sub(done);
    println!(
        "study `{}` in {}: {done} trials done, running {remaining} more on {} threads",
        args.study,
        args.storage.display(),
        args.jobs
    );
    let started = Instant::now();
    let objective = |trial: &mut kiln::tune::Trial| -> Result<f64, kiln::tune::ObjectiveError> {
        suggest(trial)?;
        let choice = choice(&trial.params()).map_err(|e| e.to_string())?;
        let mut trainer = trainer(&args, &choice, args.epochs)
            .map_err(|e| e.to_string())?
            .with_observer(PruneOnEpoch::valid_accuracy(trial.reporter()));
        let fitted = trainer.fit(&model_config(&choice), &train, Some(&valid))?;
        let accuracy = fitted
            .history
            .last()
            .and_then(|m| m.valid_accuracy)
            .unwrap_or(0.0);
        let state = if trial.was_pruned() {
            "pruned"
        } else {
            "complete"
        };
        println!(
            "trial {:>3} {state:<8} valid acc {accuracy:.4} after {} epochs  {}",
            trial.number(),
            fitted.history.len(),
            show(&trial.params())
        );
        if trial.was_pruned() {
            return Err(trial.pruned().into());
        }
        Ok(accuracy)
    };
    let options = Optimize::trials(remaining).with_n_jobs(args.jobs);
    match args.track.as_deref() {
        Some(target) => {
            let tracker = kiln_examples::tracker(target);
            study.optimize_with(options, track_trials(&tracker, &study, objective))?;
        }
        None => study.optimize_with(options, objective)?,
    }
    let trials = study.trials()?;
    let count = |s: TrialState| trials.iter().filter(|t| t.state == s).count();
    println!(
        "{} trials: {} complete, {} pruned, {} failed ({:.0} s this run)",
        trials.len(),
        count(TrialState::Complete),
        count(TrialState::Pruned),
        count(TrialState::Failed),
        started.elapsed().as_secs_f64()
    );
    let best = study.best_trial()?;
    println!(
        "best trial {}: valid accuracy {:.4} with {}",
        best.number,
        best.value.unwrap_or(f64::NAN),
        show(&best.values())
    );
    // Retrain the best configuration on all 55,000 training images.
    let choice = choice(&best.values())?;
    let all_train = full.take(&parts.train);
    let mut trainer = trainer(&args, &choice, args.epochs)?;
    let fitted = trainer.fit(&model_config(&choice), &all_train, None)?;
    let (metrics, _) = kiln_examples::classification_metrics(&trainer, &fitted.model, &test)?;
    let accuracy = metrics
        .iter()
        .find(|(n, _)| *n == "test_accuracy")
        .map_or(f64::NAN, |(_, v)| *v);
    println!(
        "retrained on {} images: test accuracy {accuracy:.4}",
        all_train.len()
    );
    let bundle = Bundle::<Mlp>::new(
        fitted.model,
        model_config(&choice),
        trainer.config().clone(),
        TargetEncoder::classes(kiln_examples::digit_classes())?,
    )
    .with_metrics(metrics);
    kiln_examples::save_bundle(&bundle, &args.run.bundle_dir("tune_mnist"))?;
    Ok(())
}
