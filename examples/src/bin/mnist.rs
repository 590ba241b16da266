//! Trains an MLP on the bundled MNIST and prints its test accuracy.
//!
//! ```text
//! cargo run --release -p kiln-examples --bin mnist
//! cargo run --release -p kiln-examples --bin mnist -- --epochs 10 --hidden 1024,512
//! ```

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use kiln::data::{Split, datasets};
use kiln::models::MlpConfig;
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
    let model_config = MlpConfig::new(784, 10).with_hidden(args.hidden);
    let model = trainer.init_model(|d| model_config.init(d))?;
    let started = Instant::now();
    let fitted = trainer.fit(model, &train, Some(&test))?;
    println!(
        "{} epochs in {:.1} s",
        fitted.history.len(),
        started.elapsed().as_secs_f64()
    );
    let (metrics, _) = kiln_examples::classification_metrics(&trainer, &fitted.model, &test)?;
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
