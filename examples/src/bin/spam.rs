//! Spam filtering on the bundled SpamAssassin corpus: TF-IDF features (fitted on the training
//! part) into an MLP, on a stratified 80/20 split (seed 0).
//!
//! ```text
//! cargo run --release -p kiln-examples --bin spam
//! cargo run --release -p kiln-examples --bin spam -- --vocabulary 20000 --epochs 8
//! ```

use std::process::ExitCode;

use clap::Parser;
use kiln::data::{VectorizerConfig, datasets, split};
use kiln::models::MlpConfig;
use kiln::train::{ClassificationSet, ConfusionMatrix, TrainConfig, Trainer};

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
    #[command(flatten)]
    run: kiln_examples::RunArgs,
}

fn main() -> ExitCode {
    kiln_examples::exit_code(run(Args::parse()).map(|()| ExitCode::SUCCESS))
}

fn run(args: Args) -> anyhow::Result<()> {
    let corpus = datasets::spam_assassin()?;
    let parts = split::stratified_holdout(corpus.labels(), 0.2, args.run.seed)?;
    let (train, test) = (corpus.take(&parts.train), corpus.take(&parts.test));
    let vectorizer = VectorizerConfig::default()
        .with_min_df(2)
        .with_max_features(args.vocabulary)
        .fit(train.texts())?;
    let features = |texts: &[String]| vectorizer.transform_dense(texts);
    let n_classes = corpus.classes().len();
    let train_set =
        ClassificationSet::new(features(train.texts()), train.labels().to_vec(), n_classes)?;
    let test_set =
        ClassificationSet::new(features(test.texts()), test.labels().to_vec(), n_classes)?;
    let config = TrainConfig::new(args.epochs, args.batch_size, args.lr).with_seed(args.run.seed);
    let mut trainer = Trainer::new(config, args.run.device()?)?
        .with_observer(kiln_examples::print_epochs(train_set.len()));
    let n_features = vectorizer.n_features();
    let model = trainer.init_model(|d| {
        MlpConfig::new(n_features, n_classes)
            .with_hidden(vec![64])
            .init(d)
    })?;
    let fitted = trainer.fit(model, &train_set, Some(&test_set))?;
    let predicted = trainer.predict(&fitted.model, test_set.features())?;
    let confusion = ConfusionMatrix::new(test_set.labels(), &predicted, n_classes)?;
    println!(
        "{} train / {} test messages, {} TF-IDF features",
        train_set.len(),
        test_set.len(),
        n_features
    );
    println!(
        "test accuracy {:.4}  macro F1 {:.4}  (classes: 0 ham, 1 spam)",
        confusion.accuracy(),
        confusion.macro_f1()
    );
    print!("{confusion}");
    Ok(())
}
