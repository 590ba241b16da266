//! Trains the LeNet-style CNN (or, with `--model resnet`, the small residual network) on the
//! bundled MNIST and prints its test metrics.
//!
//! ```text
//! cargo run --release -p kiln-examples --bin mnist_cnn
//! cargo run --release -p kiln-examples --bin mnist_cnn -- --epochs 12 --dropout 0.3
//! cargo run --release -p kiln-examples --bin mnist_cnn -- --model resnet --epochs 3
//! ```

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use kiln::data::{Split, datasets};
use kiln::models::{Cnn, CnnConfig, ResidualCnn, ResidualCnnConfig};
use kiln::train::{Bundle, BundledModel, ClassificationSet, Task, TrainConfig, Trainer};

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
    /// The network: `lenet` (conv 1→32, pool, conv 32→64, pool, fc 1600→128→10) or
    /// `resnet` (16-32-64 channels, one residual block per stage).
    #[arg(long, default_value = "lenet")]
    model: String,
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
    let dir = args.run.bundle_dir(&format!("mnist_{}", args.model));
    match args.model.as_str() {
        "lenet" => {
            let model_config = CnnConfig::new(10).with_dropout(args.dropout);
            fit_and_bundle::<Cnn>(&mut trainer, model_config, &train, &test, &dir)
        }
        "resnet" => {
            let model_config = ResidualCnnConfig::new(10).with_dropout(args.dropout);
            fit_and_bundle::<ResidualCnn>(&mut trainer, model_config, &train, &test, &dir)
        }
        other => anyhow::bail!("unknown model `{other}`; use lenet or resnet"),
    }
}

/// Trains the model built from `model_config`, prints its test metrics and saves its bundle.
fn fit_and_bundle<M: BundledModel>(
    trainer: &mut Trainer,
    model_config: M::Config,
    train: &ClassificationSet,
    test: &ClassificationSet,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    let model = trainer.init_model(|d| M::from_config(&model_config, d))?;
    let started = Instant::now();
    let fitted = trainer.fit(model, train, Some(test))?;
    println!(
        "{} epochs in {:.1} s",
        fitted.history.len(),
        started.elapsed().as_secs_f64()
    );
    let (metrics, _) = kiln_examples::classification_metrics(trainer, &fitted.model, test)?;
    let bundle = Bundle::new(
        fitted.model,
        model_config,
        trainer.config().clone(),
        Task::Classification {
            classes: kiln_examples::digit_classes(),
        },
    )
    .with_metrics(metrics);
    kiln_examples::save_bundle(&bundle, dir)?;
    Ok(())
}
