//! Trains an MLP on MNIST (the bundled copy, or any directory of IDX files such as
//! Fashion-MNIST) through the pipeline and prints its test accuracy.
//!
//! ```text
//! cargo run --release -p kiln-examples --bin mnist
//! cargo run --release -p kiln-examples --bin mnist -- --epochs 10 --hidden 1024,512
//! cargo run --release -p kiln-examples --bin mnist -- --data ~/fashion-mnist
//! cargo run --release -p kiln-examples --bin mnist -- --track kiln-runs   # then `kiln report`
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use kiln::pipeline::{ModelKind, Pipeline, PipelineConfig, TrackSection};

/// Train an MLP on MNIST.
#[derive(Parser)]
struct Args {
    /// A directory of IDX files (`train-images-idx3-ubyte[.gz]`, `train-labels-…`, and
    /// `t10k-…` for testing) [default: the bundled MNIST, checksum-verified].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Passes over the training images.
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
    let mut config = PipelineConfig::new(kiln_examples::mnist_dir(args.data)?)
        .with_model(ModelKind::Mlp)
        .with_seed(args.run.seed);
    config.model.hidden = Some(args.hidden);
    config.train.epochs = Some(args.epochs);
    config.train.batch_size = Some(args.batch_size);
    config.train.learning_rate = Some(args.lr);
    config.train.device = Some(args.run.device.clone());
    config.output.bundle = Some(args.run.bundle_dir("mnist"));
    config.track = args.track.map(|uri| TrackSection {
        uri,
        experiment: Some("mnist".into()),
    });
    kiln_examples::print_result(&Pipeline::new(config).with_progress(true).run()?);
    Ok(())
}
