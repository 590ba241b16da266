//! Spam filtering on the bundled SpamAssassin corpus through the pipeline, on a stratified
//! 80/20 split (seed 0): TF-IDF features (fitted on the training part) into an MLP, or token
//! ids into a `TextClassifier` (an embedding bag, or a small transformer encoder).
//!
//! ```text
//! cargo run --release -p kiln-examples --bin spam
//! cargo run --release -p kiln-examples --bin spam -- --vocabulary 20000 --epochs 8
//! cargo run --release -p kiln-examples --bin spam -- --model embedding-bag --epochs 10
//! cargo run --release -p kiln-examples --bin spam -- --model transformer --epochs 6
//! ```

use std::process::ExitCode;

use clap::Parser;
use kiln::data::datasets::Datasets;
use kiln::pipeline::{DataFormat, ModelKind, Pipeline, PipelineConfig, TestMetrics, TextModel};

/// Train a spam classifier.
#[derive(Parser)]
struct Args {
    /// Most frequent terms kept in the vocabulary.
    #[arg(long, default_value_t = 5000)]
    vocabulary: usize,
    /// Passes over the training messages.
    #[arg(long, default_value_t = 5)]
    epochs: usize,
    /// Messages per step.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// `mlp` (TF-IDF rows into an MLP), `embedding-bag` or `transformer` (token ids into a
    /// `TextClassifier`).
    #[arg(long, default_value = "mlp", value_parser = ["mlp", "embedding-bag", "transformer"])]
    model: String,
    /// Tokens read per message by the token-id models.
    #[arg(long, default_value_t = 256)]
    max_len: usize,
    #[command(flatten)]
    run: kiln_examples::RunArgs,
}

fn main() -> ExitCode {
    kiln_examples::exit_code(run(Args::parse()).map(|()| ExitCode::SUCCESS))
}

fn run(args: Args) -> anyhow::Result<()> {
    // Checksum-verified, as `datasets::spam_assassin` reads it.
    let path = Datasets::locate().path("text/spam_assassin.csv.gz")?;
    let encoder = match args.model.as_str() {
        "embedding-bag" => TextModel::EmbeddingBag,
        "transformer" => TextModel::Transformer,
        _ => TextModel::Tfidf,
    };
    let mut config = PipelineConfig::new(path)
        .with_target("label")
        .with_model(ModelKind::Text)
        .with_seed(args.run.seed);
    config.data.format = DataFormat::Text;
    // The file's `id` (a path) and `group` (the corpus folder, which names the class) are not
    // features: the text is the one feature column.
    config.data.ignore = vec!["id".into(), "group".into()];
    config.model.encoder = Some(encoder);
    config.model.max_features = Some(args.vocabulary);
    if encoder != TextModel::Tfidf {
        config.model.max_len = Some(args.max_len);
    }
    config.train.epochs = Some(args.epochs);
    config.train.batch_size = Some(args.batch_size);
    config.train.learning_rate = Some(args.lr);
    config.train.device = Some(args.run.device.clone());
    config.output.bundle = Some(args.run.bundle_dir(&format!("spam_{}", args.model)));
    let result = Pipeline::new(config).with_progress(true).run()?;
    kiln_examples::print_result(&result);
    if let TestMetrics::Classification(c) = &result.metrics {
        print!("classes: 0 ham, 1 spam\n{}", c.confusion);
    }
    Ok(())
}
