//! Spam filtering on the bundled SpamAssassin corpus, on a stratified 80/20 split (seed 0):
//! TF-IDF features (fitted on the training part) into an MLP, or token ids into a
//! `TextClassifier` (an embedding bag, or a small transformer encoder).
//!
//! ```text
//! cargo run --release -p kiln-examples --bin spam
//! cargo run --release -p kiln-examples --bin spam -- --vocabulary 20000 --epochs 8
//! cargo run --release -p kiln-examples --bin spam -- --model embedding-bag --epochs 10
//! cargo run --release -p kiln-examples --bin spam -- --model transformer --epochs 6
//! ```

use std::process::ExitCode;

use clap::Parser;
use kiln::data::{Matrix, TextDataset, Vectorizer, VectorizerConfig, datasets, split};
use kiln::models::{Mlp, MlpConfig, TextClassifier, TextClassifierConfig, TextEncoder};
use kiln::train::{Bundle, BundledModel, ClassificationSet, Task, TextInput, TrainConfig, Trainer};

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
    #[arg(long, default_value = "mlp")]
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
    let corpus = datasets::spam_assassin()?;
    let parts = split::stratified_holdout(corpus.labels(), 0.2, args.run.seed)?;
    let (train, test) = (corpus.take(&parts.train), corpus.take(&parts.test));
    let vectorizer = VectorizerConfig::default()
        .with_min_df(2)
        .with_max_features(args.vocabulary)
        .fit(train.texts())?;
    let n_classes = corpus.classes().len();
    let input = match args.model.as_str() {
        "mlp" => TextInput::Dense,
        "embedding-bag" | "transformer" => TextInput::TokenIds {
            max_len: args.max_len,
        },
        other => anyhow::bail!("unknown model `{other}`; use mlp, embedding-bag or transformer"),
    };
    let features = |texts: &[String]| -> Matrix {
        match input {
            TextInput::Dense => vectorizer.transform_dense(texts),
            TextInput::TokenIds { max_len } => vectorizer.token_ids(texts, max_len),
        }
    };
    let train_set =
        ClassificationSet::new(features(train.texts()), train.labels().to_vec(), n_classes)?;
    let test_set =
        ClassificationSet::new(features(test.texts()), test.labels().to_vec(), n_classes)?;
    println!(
        "{} train / {} test messages, vocabulary {} terms, model {}",
        train_set.len(),
        test_set.len(),
        vectorizer.n_features(),
        args.model
    );
    let config = TrainConfig::new(args.epochs, args.batch_size, args.lr).with_seed(args.run.seed);
    let mut trainer = Trainer::new(config, args.run.device()?)?
        .with_observer(kiln_examples::print_epochs(train_set.len()));
    let run = Run {
        train: &train_set,
        test: &test_set,
        corpus: &corpus,
        vectorizer: vectorizer.clone(),
        input,
        dir: args.run.bundle_dir(&format!("spam_{}", args.model)),
    };
    let text = |encoder| {
        TextClassifierConfig::new(vectorizer.vocabulary_size(), n_classes)
            .with_encoder(encoder)
            .with_max_len(args.max_len)
    };
    match args.model.as_str() {
        "mlp" => run.fit::<Mlp>(
            &mut trainer,
            MlpConfig::new(vectorizer.n_features(), n_classes).with_hidden(vec![64]),
        ),
        "embedding-bag" => run.fit::<TextClassifier>(&mut trainer, text(TextEncoder::EmbeddingBag)),
        _ => run.fit::<TextClassifier>(&mut trainer, text(TextEncoder::Transformer)),
    }
}

/// The data and output of one run.
struct Run<'a> {
    train: &'a ClassificationSet,
    test: &'a ClassificationSet,
    corpus: &'a TextDataset,
    vectorizer: Vectorizer,
    input: TextInput,
    dir: std::path::PathBuf,
}

impl Run<'_> {
    /// Trains the model, prints its test metrics and confusion matrix, saves its bundle.
    fn fit<M: BundledModel>(self, trainer: &mut Trainer, config: M::Config) -> anyhow::Result<()> {
        let model = trainer.init_model(|d| M::from_config(&config, d))?;
        let fitted = trainer.fit(model, self.train, Some(self.test))?;
        let (metrics, confusion) =
            kiln_examples::classification_metrics(trainer, &fitted.model, self.test)?;
        print!("classes: 0 ham, 1 spam\n{confusion}");
        let bundle = Bundle::new(
            fitted.model,
            config,
            trainer.config().clone(),
            Task::Classification {
                classes: self.corpus.classes().to_vec(),
            },
        )
        .with_metrics(metrics)
        .with_vectorizer(self.vectorizer, self.input);
        kiln_examples::save_bundle(&bundle, &self.dir)
    }
}
