//! Trains the LeNet-style CNN on the bundled MNIST and prints its test accuracy.
//!
//! ```text
//! cargo run --release -p kiln-examples --bin mnist_cnn
//! cargo run --release -p kiln-examples --bin mnist_cnn -- --epochs 12 --dropout 0.3
//! ```

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use kiln::data::{Split, datasets};
use kiln::models::CnnConfig;
use kiln::train::{ClassificationSet, TrainConfig, Trainer};

/// Train a CNN on MNIST.
#[derive(Parser)]
struct Args {
    /// Passes over the 60,000 training images.
    #[arg(long, default_value_t = 8)]
    epochs: usize,
    /// Images per step.
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Dropout before the output layer.
    #[arg(long, default_value_t = 0.25)]
    dropout: f64,
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
    let mut trainer = Trainer::new(config, args.run.device()?)?
        .with_observer(kiln_examples::print_epochs(train.len()));
    let dropout = args.dropout;
    let model = trainer.init_model(|d| CnnConfig::new(10).with_dropout(dropout).init(d))?;
    let started = Instant::now();
    let fitted = trainer.fit(model, &train, Some(&test))?;
    let result = trainer.evaluate(&fitted.model, &test)?;
    println!(
        "test accuracy {:.4} (loss {:.4}) after {} epochs in {:.1} s",
        result.accuracy,
        result.loss,
        fitted.history.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
