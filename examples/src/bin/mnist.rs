//! Trains an MLP on the bundled MNIST and prints its test accuracy.
//!
//! ```text
//! cargo run --release -p kiln-examples --bin mnist
//! cargo run --release -p kiln-examples --bin mnist -- --epochs 10 --hidden 1024,512
//! cargo run --release -p kiln-examples --bin mnist -- --track kiln-runs   # then `kiln report`
//! ```

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use kiln::data::{Split, datasets};
use kiln::models::MlpConfig;
use kiln::track::RunStatus;
use kiln::tracking::LogEpochs;
use kiln::train::{Bundle, ClassificationSet, Task, TrainConfig, Trainer};

/// Train an MLP on MNIST.
#[derive(Parser)]
struct Args {
    /// Passes over the 60,000 training images.
    #[arg(long, default_value_t = 5)]
    epochs: usize,
    /// Images per step.
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Hidden layer widths, comma separated.
    #[arg(long, default_value = "512,256", value_delimiter = ',')]
    hidden: Vec<usize>,
    /// Log the run (params, every epoch, test metrics, confusion matrix) to this tracking
    /// directory, or to an MLflow server given as `http://host:port`.
    #[arg(long)]
    track: Option<String>,
    #[command(flatten)]
    run: kiln_examples::RunArgs,
}

fn main() -> ExitCode {
    kiln_examples::exit_code(run(Args::parse()).map(|()| ExitCode::SUCCESS))
}

fn run(args: Args) -> anyhow::Result<()> {
    let train = ClassificationSet::from_mnist(&datasets::mnist(Split::Train)?)?;
    let test = ClassificationSet::from_mnist(&datasets::mnist(Split::Test)?)?;
    let config = TrainConfig::new(args.epochs, args.batch_size, args.lr).with_seed(args.run.seed);
    let mut trainer = Trainer::new(config.clone(), args.run.device()?)?
        .with_observer(kiln_examples::print_epochs(train.len()));
    let tracked = args.track.as_deref().map(|target| {
        let run = kiln_examples::tracker(target).start_run("mnist", "mlp");
        run.log_params([
            ("epochs", args.epochs.to_string()),
            ("batch_size", args.batch_size.to_string()),
            ("lr", args.lr.to_string()),
            ("hidden", format!("{:?}", args.hidden)),
            ("seed", args.run.seed.to_string()),
        ]);
        run
    });
    if let Some(run) = &tracked {
        trainer = trainer.with_observer(LogEpochs::new(run.clone()));
    }
    let model_config = MlpConfig::new(784, 10).with_hidden(args.hidden.clone());
    let model = trainer.init_model(|d| model_config.init(d))?;
    let started = Instant::now();
    let fitted = trainer.fit(model, &train, Some(&test))?;
    println!(
        "{} epochs in {:.1} s",
        fitted.history.len(),
        started.elapsed().as_secs_f64()
    );
    let (metrics, confusion) =
        kiln_examples::classification_metrics(&trainer, &fitted.model, &test)?;
    if let Some(run) = &tracked {
        run.log_metrics(fitted.history.len() as u64, metrics.iter().copied());
        kiln_examples::log_confusion(run, &confusion, &kiln_examples::digit_classes());
        run.finish(RunStatus::Finished);
        println!("tracked as run {}", run.id().unwrap_or_default());
    }
    let bundle = Bundle::new(
        fitted.model,
        model_config,
        config,
        Task::Classification {
            classes: kiln_examples::digit_classes(),
        },
    )
    .with_metrics(metrics);
    kiln_examples::save_bundle(&bundle, &args.run.bundle_dir("mnist"))?;
    Ok(())
}
