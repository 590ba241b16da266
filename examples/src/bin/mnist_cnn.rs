//! Trains the LeNet-style CNN (or, with `--model resnet`, the small residual network) on
//! MNIST (the bundled copy, or any directory of IDX files) through the pipeline and prints its
//! test metrics.
//!
//! ```text
//! cargo run --release -p kiln-examples --bin mnist_cnn
//! cargo run --release -p kiln-examples --bin mnist_cnn -- --epochs 12 --dropout 0.3
//! cargo run --release -p kiln-examples --bin mnist_cnn -- --model resnet --epochs 3
//! cargo run --release -p kiln-examples --bin mnist_cnn -- --data ~/fashion-mnist
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use kiln::pipeline::{ModelKind, Pipeline, PipelineConfig};

/// Train a CNN on MNIST.
#[derive(Parser)]
struct Args {
    /// A directory of IDX files [default: the bundled MNIST, checksum-verified].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Passes over the training images.
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
    #[arg(long, default_value = "lenet", value_parser = ["lenet", "resnet"])]
    model: String,
    #[command(flatten)]
    run: kiln_examples::RunArgs,
}

fn main() -> ExitCode {
    kiln_examples::exit_code(run(Args::parse()).map(|()| ExitCode::SUCCESS))
}

fn run(args: Args) -> anyhow::Result<()> {
    let kind = if args.model == "resnet" {
        ModelKind::Resnet
    } else {
        ModelKind::Cnn
    };
    let mut config = PipelineConfig::new(kiln_examples::mnist_dir(args.data)?)
        .with_model(kind)
        .with_seed(args.run.seed);
    config.model.dropout = Some(args.dropout);
    config.train.epochs = Some(args.epochs);
    config.train.batch_size = Some(args.batch_size);
    config.train.learning_rate = Some(args.lr);
    config.train.device = Some(args.run.device.clone());
    config.output.bundle = Some(args.run.bundle_dir(&format!("mnist_{}", args.model)));
    kiln_examples::print_result(&Pipeline::new(config).with_progress(true).run()?);
    Ok(())
}
