//! Helpers shared by Kiln's example binaries.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kiln::burn::tensor::Device;
use kiln::train::{
    Bundle, BundledModel, ClassificationSet, ConfusionMatrix, Model, Trainer, top_k_accuracy,
};

/// The options every training example takes.
#[derive(clap::Args)]
pub struct RunArgs {
    /// The device: flex, ndarray, cpu, wgpu or cuda (each needs its Cargo feature).
    #[arg(long, default_value = "flex")]
    pub device: String,
    /// Seed for the split (where there is one), initialization, shuffling and dropout.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to save the model bundle [default: bundles/<example>].
    #[arg(long)]
    pub bundle: Option<PathBuf>,
}

impl RunArgs {
    /// The chosen device, or an error saying which ones are compiled in.
    pub fn device(&self) -> anyhow::Result<Device> {
        Ok(kiln::backend::device(&self.device)?)
    }

    /// The bundle directory: `--bundle`, or `bundles/<name>`.
    pub fn bundle_dir(&self, name: &str) -> PathBuf {
        self.bundle
            .clone()
            .unwrap_or_else(|| Path::new("bundles").join(name))
    }
}

/// Saves a bundle and says where.
pub fn save_bundle<M: BundledModel>(bundle: &Bundle<M>, dir: &Path) -> anyhow::Result<()> {
    bundle.save(dir)?;
    println!("saved the model bundle to {}", dir.display());
    Ok(())
}

/// Exit status 0, or the error (with its causes) on stderr and status 2.
pub fn exit_code(result: anyhow::Result<ExitCode>) -> ExitCode {
    result.unwrap_or_else(|e| {
        eprintln!("error: {}", kiln::pipeline::error_line(e.as_ref()));
        ExitCode::from(2)
    })
}

/// Test loss, accuracy, top-2 accuracy and macro F1 of a classifier, printed on one line and
/// returned for the bundle, with the confusion matrix they come from.
pub fn classification_metrics<M: Model>(
    trainer: &Trainer,
    model: &M,
    test: &ClassificationSet,
) -> anyhow::Result<(Vec<(&'static str, f64)>, ConfusionMatrix)> {
    let evaluation = trainer.evaluate(model, test)?;
    let scores = trainer.predict_scores(model, test.features())?;
    let confusion = ConfusionMatrix::from_scores(test.labels(), &scores)?;
    let mut metrics = vec![
        ("test_loss", evaluation.loss),
        ("test_accuracy", evaluation.accuracy),
    ];
    if test.n_classes() > 2 {
        metrics.push((
            "test_top2_accuracy",
            top_k_accuracy(&scores, test.labels(), 2)?,
        ));
    }
    metrics.push(("test_macro_f1", confusion.macro_f1()));
    let line: Vec<String> = metrics
        .iter()
        .map(|(name, value)| format!("{} {value:.4}", name.trim_start_matches("test_")))
        .collect();
    println!("test: {}", line.join("  "));
    Ok((metrics, confusion))
}

/// A tracker for `--track`: an MLflow server for an `http(s)://` URL, else a local directory.
pub fn tracker(target: &str) -> kiln::track::Tracker {
    if target.starts_with("http://") || target.starts_with("https://") {
        kiln::track::Tracker::mlflow(target)
    } else {
        kiln::track::Tracker::local(target)
    }
}

/// The directory of IDX files to train on: `data`, or the bundled MNIST after checking every
/// file's checksum (a user's own directory is read without checksums).
pub fn mnist_dir(data: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = data {
        return Ok(dir);
    }
    let datasets = kiln::data::datasets::Datasets::locate();
    datasets.mnist(kiln::data::datasets::Split::Train)?;
    datasets.mnist(kiln::data::datasets::Split::Test)?;
    let images = datasets.path("mnist/train-images-idx3-ubyte.gz")?;
    Ok(images
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf))
}

/// Prints a pipeline run's test metrics, split, tracked run and bundle.
pub fn print_result(result: &kiln::pipeline::PipelineResult) {
    let s = result.split;
    println!(
        "{} train / {} valid / {} test rows, {} epochs",
        s.train,
        s.valid,
        s.test,
        result.history.len()
    );
    println!("test {}", result.metrics);
    if let Some(id) = &result.run_id {
        println!("tracked as run {id}");
    }
    println!("saved the model bundle to {}", result.bundle.display());
}

/// The class names `0`–`9` of MNIST.
pub fn digit_classes() -> Vec<String> {
    (0..10).map(|d| d.to_string()).collect()
}
