//! [`PipelineConfig`]: the whole flow in one serde value, read from TOML or JSON. Every field
//! but `data.path` (and `data.target` for tables and texts) is optional; [`resolve`] writes
//! every default out, so a resolved config reruns the same way.
//!
//! [`resolve`]: PipelineConfig::resolve

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kiln_data::{Check, Impute, Scaling, Task, UnknownCategory};
use kiln_train::{LrSchedule, OptimizerKind};
use serde::{Deserialize, Serialize};

use crate::pipeline::error::{PipelineError, Result, invalid};

/// The whole pipeline: data → validate → split → features → model → train → (tune) →
/// evaluate → bundle → report.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Seed of the split, the initial weights, shuffling, dropout and the search.
    #[serde(default)]
    pub seed: u64,
    /// Where the data is and what to predict.
    pub data: DataSection,
    /// Data-quality checks before training.
    #[serde(default)]
    pub validate: ValidateSection,
    /// Tabular preprocessing.
    #[serde(default)]
    pub features: FeaturesSection,
    /// The model.
    #[serde(default)]
    pub model: ModelSection,
    /// Training settings.
    #[serde(default)]
    pub train: TrainSection,
    /// Hyperparameter search (none when absent).
    #[serde(default)]
    pub tune: Option<TuneSection>,
    /// Where runs are logged (none when absent).
    #[serde(default)]
    pub track: Option<TrackSection>,
    /// Where the bundle and report go.
    #[serde(default)]
    pub output: OutputSection,
}

/// How the data is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataFormat {
    /// From the path: `.csv`/`.csv.gz` is a table, or texts when its only feature column is
    /// free text; `.parquet` (or a directory of them) a table; a directory holding CIFAR
    /// binaries is CIFAR, one with sub-directories of PNG/JPEG files an image folder, and
    /// any other directory IDX images.
    #[default]
    Auto,
    /// A CSV table (plain or gzip).
    Csv,
    /// A `text,label` CSV: one text column and the target.
    Text,
    /// A Parquet file, or a directory of Parquet part files (Spark, DuckDB, Polars).
    Parquet,
    /// A directory of MNIST-style IDX files (`*train-images*`, `*train-labels*`, and
    /// `*t10k-*` or `*test-*` for the test part).
    Idx,
    /// A directory of CIFAR-10 binaries (`data_batch_1.bin` … `data_batch_5.bin`,
    /// `test_batch.bin`) or CIFAR-100 binaries (`train.bin`, `test.bin`; fine labels).
    Cifar,
    /// An image folder: one sub-directory of PNG/JPEG files per class (or `train/` and `test/`
    /// folders of that layout, the test part then coming from `test/`).
    Images,
}

/// The colour channels images are read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageColor {
    /// One grey channel.
    Grey,
    /// Red, green and blue.
    Rgb,
}

/// How the test part is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitKind {
    /// Stratified by class for classification, plain for regression.
    #[default]
    Auto,
    /// A seeded random holdout.
    Holdout,
    /// A seeded holdout keeping each class's share.
    Stratified,
    /// k-fold cross-validation: each fold's test part is scored once (`folds` models), and
    /// the bundled model is then trained on every row.
    Kfold,
}

/// `[data]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// The data file or directory.
    pub path: PathBuf,
    /// How to read it.
    #[serde(default)]
    pub format: DataFormat,
    /// The column to predict (tables and texts; IDX labels need none).
    #[serde(default)]
    pub target: Option<String>,
    /// Classification or regression.
    #[serde(default)]
    pub task: Task,
    /// How the test part is chosen (ignored when `test_path` is given).
    #[serde(default)]
    pub split: SplitKind,
    /// Share of rows held out for testing.
    #[serde(default)]
    pub test_fraction: Option<f64>,
    /// Folds for `split = "kfold"`.
    #[serde(default)]
    pub folds: Option<usize>,
    /// An explicit test file (same format) instead of a split.
    #[serde(default)]
    pub test_path: Option<PathBuf>,
    /// Columns to leave out of the features (ids, leaks).
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Image folders: `[height, width]` every image is resized to (none: all must have the
    /// first image's size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_size: Option<[usize; 2]>,
    /// Image folders: the channels images are read as (none: the first image's, grey or RGB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<ImageColor>,
    /// Image folders: skip (and count) files that cannot be decoded instead of failing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_corrupt: bool,
}

/// What a failed quality check does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Stop before training.
    #[default]
    Fail,
    /// Print the failures and go on.
    Warn,
}

/// `[validate]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateSection {
    /// Run the default suite for the table (`QualitySuite::defaults_for`).
    #[serde(default = "yes")]
    pub defaults: bool,
    /// A TOML or JSON suite file of further checks.
    #[serde(default)]
    pub checks_file: Option<PathBuf>,
    /// Further checks, inline.
    #[serde(default)]
    pub checks: Vec<Check>,
    /// What a failure does.
    #[serde(default)]
    pub policy: Policy,
}

impl Default for ValidateSection {
    fn default() -> Self {
        Self {
            defaults: true,
            checks_file: None,
            checks: Vec::new(),
            policy: Policy::Fail,
        }
    }
}

/// `[features]`: how table columns become model inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeaturesSection {
    /// Missing values.
    #[serde(default = "median")]
    pub impute: Impute,
    /// Numeric columns.
    #[serde(default = "standardize")]
    pub scaling: Scaling,
    /// Categories not seen in training, at evaluation and prediction time: `ignore` encodes
    /// them as all zeros and counts them; `error` stops.
    #[serde(default = "ignore")]
    pub unknown: UnknownCategory,
}

impl Default for FeaturesSection {
    fn default() -> Self {
        Self {
            impute: Impute::Median,
            scaling: Scaling::Standardize,
            unknown: UnknownCategory::Ignore,
        }
    }
}

/// Which model to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// `mlp` for tables, `cnn` for images, `text` for texts.
    #[default]
    Auto,
    /// Logistic or linear regression.
    Linear,
    /// A multi-layer perceptron.
    Mlp,
    /// The LeNet-style CNN (images).
    Cnn,
    /// The small residual CNN (images).
    Resnet,
    /// A text classifier (`encoder`: TF-IDF → MLP, embedding bag, or transformer).
    Text,
}

/// How a text model reads texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextModel {
    /// TF-IDF features into an MLP.
    Tfidf,
    /// Token ids → mean embedding → MLP.
    EmbeddingBag,
    /// Token ids → transformer encoder → mean → MLP.
    Transformer,
}

/// `[model]`: the kind and its settings; settings a kind does not use are an error.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// The model.
    #[serde(default)]
    pub kind: ModelKind,
    /// Hidden widths (mlp; the text models' head).
    #[serde(default)]
    pub hidden: Option<Vec<usize>>,
    /// Dropout (mlp, cnn, resnet, text).
    #[serde(default)]
    pub dropout: Option<f64>,
    /// Activation of the hidden layers (mlp): relu, gelu, tanh or sigmoid.
    #[serde(default)]
    pub activation: Option<String>,
    /// Normalization of the hidden layers (mlp): none, batch or layer.
    #[serde(default)]
    pub norm: Option<String>,
    /// Convolution channels per stage (cnn), or stage widths (resnet).
    #[serde(default)]
    pub channels: Option<Vec<usize>>,
    /// Text encoder (text).
    #[serde(default)]
    pub encoder: Option<TextModel>,
    /// Vocabulary size kept by the text vectorizer (text).
    #[serde(default)]
    pub max_features: Option<usize>,
    /// Tokens per text (embedding bag, transformer).
    #[serde(default)]
    pub max_len: Option<usize>,
    /// Embedding width (embedding bag, transformer).
    #[serde(default)]
    pub embedding_dim: Option<usize>,
}

/// Early stopping on the validation part.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStoppingSection {
    /// Epochs without improvement of the validation loss before stopping (the best epoch's
    /// weights are kept).
    pub patience: usize,
    /// The smallest improvement that counts.
    #[serde(default)]
    pub min_delta: f64,
}

/// `[train]`: `kiln_train::TrainConfig`'s fields, plus the validation part.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSection {
    /// Passes over the training part.
    #[serde(default)]
    pub epochs: Option<usize>,
    /// Rows per step.
    #[serde(default)]
    pub batch_size: Option<usize>,
    /// Step size.
    #[serde(default)]
    pub learning_rate: Option<f64>,
    /// The optimizer (Adam by default).
    #[serde(default)]
    pub optimizer: Option<OptimizerKind>,
    /// Learning-rate schedule (constant by default).
    #[serde(default)]
    pub lr_schedule: Option<LrSchedule>,
    /// L2 penalty.
    #[serde(default)]
    pub weight_decay: Option<f64>,
    /// Gradient-norm clipping.
    #[serde(default)]
    pub grad_clip_norm: Option<f32>,
    /// Share of the training part carved off (stratified for classes) to validate on, for
    /// early stopping and tuning; never the test part. 0 trains on the whole training part.
    #[serde(default)]
    pub valid_fraction: Option<f64>,
    /// Early stopping on the validation loss (needs `valid_fraction > 0`).
    #[serde(default)]
    pub early_stopping: Option<EarlyStoppingSection>,
    /// The device: flex, ndarray, cpu, wgpu or cuda.
    #[serde(default)]
    pub device: Option<String>,
}

/// One searched parameter, at a dotted config path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Parameter {
    /// Reals in `[low, high]`, log-uniform when `log`.
    Float {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
        /// Search in log space.
        #[serde(default)]
        log: bool,
    },
    /// Integers in `[low, high]`.
    Int {
        /// Lower bound.
        low: i64,
        /// Upper bound.
        high: i64,
        /// Search in log space.
        #[serde(default)]
        log: bool,
    },
    /// One of these values (any JSON value: numbers, strings, lists such as `[128, 64]`).
    Categorical {
        /// The values.
        choices: Vec<serde_json::Value>,
    },
}

/// The search algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplerKind {
    /// Tree-structured Parzen estimator.
    #[default]
    Tpe,
    /// Uniform random search.
    Random,
    /// Quasi-Monte Carlo (Halton).
    Qmc,
}

/// Stopping unpromising trials early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrunerKind {
    /// Stop a trial below the median of earlier trials at the same epoch.
    #[default]
    Median,
    /// Asynchronous successive halving.
    Asha,
    /// Never prune.
    None,
}

/// `[tune]`: Ludwig's `hyperopt` shape: parameters by dotted config path.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TuneSection {
    /// Trials to run.
    #[serde(default)]
    pub trials: Option<usize>,
    /// Stop starting trials after this many seconds.
    #[serde(default)]
    pub time_budget_s: Option<u64>,
    /// The search space by dotted path (`train.learning_rate`, `model.hidden`, …); a
    /// default space for the model when empty.
    #[serde(default)]
    pub parameters: BTreeMap<String, Parameter>,
    /// The search algorithm.
    #[serde(default)]
    pub sampler: SamplerKind,
    /// The pruner.
    #[serde(default)]
    pub pruner: PrunerKind,
    /// Where the study lives, so several processes or machines can join it: a SQLite file
    /// (`study.db` or `sqlite:study.db`; processes on one machine) or a PostgreSQL URL
    /// (`postgres://user@host/db`; workers on many machines). In memory when absent.
    #[serde(default)]
    pub storage: Option<String>,
    /// Trials run at once in this process.
    #[serde(default)]
    pub threads: Option<usize>,
}

/// `[track]`: a local store directory or an MLflow server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackSection {
    /// A directory, or an `http(s)://` MLflow URL.
    pub uri: String,
    /// The experiment name (the data file's stem by default).
    #[serde(default)]
    pub experiment: Option<String>,
}

/// `[output]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    /// The bundle directory (`bundles/<data stem>` by default).
    #[serde(default)]
    pub bundle: Option<PathBuf>,
    /// An HTML report of the tracked runs (needs `[track]`).
    #[serde(default)]
    pub report: Option<PathBuf>,
    /// Write the split's row indices here as JSON (`train` with the validation rows, `valid`,
    /// `test`), to train another library on the very same rows.
    #[serde(default)]
    pub split: Option<PathBuf>,
}

fn yes() -> bool {
    true
}
fn median() -> Impute {
    Impute::Median
}
fn standardize() -> Scaling {
    Scaling::Standardize
}
fn ignore() -> UnknownCategory {
    UnknownCategory::Ignore
}

impl PipelineConfig {
    /// A config for `path` with every other setting at its default.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            data: DataSection {
                path: path.into(),
                ..DataSection::default()
            },
            ..Self::default()
        }
    }

    /// Sets the target column.
    pub fn with_target(mut self, target: impl Into<String>) -> Self {
        self.data.target = Some(target.into());
        self
    }

    /// Sets the model kind.
    pub fn with_model(mut self, kind: ModelKind) -> Self {
        self.model.kind = kind;
        self
    }

    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Reads a TOML (`.toml`) or JSON (anything else) config file. Relative data, test,
    /// checks and storage paths stay relative to the working directory, as on the command
    /// line.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PipelineError::Io {
            path: path.to_owned(),
            source,
        })?;
        if path.extension().is_some_and(|e| e == "toml") {
            Self::from_toml(&text).map_err(|e| e.in_file(path))
        } else {
            Self::from_json(&text).map_err(|e| e.in_file(path))
        }
    }

    /// Parses TOML; an unknown key is an error naming it.
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| PipelineError::Config {
            file: None,
            message: e.message().to_owned(),
            location: e.span().map(|s| line_of(text, s.start)),
        })
    }

    /// Parses JSON; an unknown key is an error naming it.
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| PipelineError::Config {
            file: None,
            message: e.to_string(),
            location: None,
        })
    }

    /// The config as TOML.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).map_err(|e| invalid("config", e.to_string()))
    }

    /// The config with `value` at the dotted `path` (`train.learning_rate`,
    /// `model.hidden`), as the tuner sets parameters.
    pub fn with_value(&self, path: &str, value: serde_json::Value) -> Result<Self> {
        let mut json = serde_json::to_value(self).map_err(|e| invalid(path, e.to_string()))?;
        let mut node = &mut json;
        let parts: Vec<&str> = path.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let Some(object) = node.as_object_mut() else {
                return Err(invalid(path, "is not a path into the config"));
            };
            if i + 1 == parts.len() {
                object.insert((*part).to_owned(), value);
                break;
            }
            node = object
                .entry((*part).to_owned())
                .or_insert_with(|| serde_json::Value::Object(Default::default()));
        }
        serde_json::from_value(json).map_err(|e| {
            invalid(
                path,
                format!("cannot be set this way: {e} (a path is `section.key`, e.g. `train.learning_rate`)"),
            )
        })
    }
}

/// `line L, column C` of a byte offset.
fn line_of(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |p| p + 1) + 1;
    format!("line {line}, column {column}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_key_is_named() {
        let err = PipelineConfig::from_toml("[data]\npath = \"x.csv\"\ntargte = \"y\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("targte") && err.contains("line 3"), "{err}");
        let err = PipelineConfig::from_toml("[data]\npath = \"x.csv\"\n[trian]\nepochs = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("trian"), "{err}");
    }

    #[test]
    fn dotted_paths_set_values() {
        let config = PipelineConfig::new("x.csv")
            .with_value("train.learning_rate", serde_json::json!(0.5))
            .unwrap()
            .with_value("model.hidden", serde_json::json!([8, 4]))
            .unwrap();
        assert_eq!(config.train.learning_rate, Some(0.5));
        assert_eq!(config.model.hidden, Some(vec![8, 4]));
        let err = config
            .with_value("train.lerning_rate", serde_json::json!(0.5))
            .unwrap_err()
            .to_string();
        assert!(err.contains("lerning_rate"), "{err}");
    }

    #[test]
    fn a_full_config_parses() {
        let text = r#"
seed = 3
[data]
path = "datasets/tabular/penguins.csv"
target = "label"
split = "stratified"
test_fraction = 0.25
ignore = ["island"]
[validate]
policy = "warn"
[features]
unknown = "error"
[model]
kind = "mlp"
hidden = [64, 32]
dropout = 0.1
[train]
epochs = 50
learning_rate = 0.003
valid_fraction = 0.2
early_stopping = { patience = 5 }
optimizer = { kind = "adam_w" }
[tune]
trials = 10
[tune.parameters]
"train.learning_rate" = { type = "float", low = 1e-4, high = 1e-2, log = true }
"model.hidden" = { type = "categorical", choices = [[64], [128, 64]] }
[output]
bundle = "bundles/penguins"
"#;
        let config = PipelineConfig::from_toml(text).unwrap();
        assert_eq!(config.seed, 3);
        assert_eq!(config.data.split, SplitKind::Stratified);
        assert_eq!(config.train.early_stopping.unwrap().patience, 5);
        assert_eq!(config.tune.as_ref().unwrap().parameters.len(), 2);
        let again = PipelineConfig::from_toml(&config.to_toml().unwrap()).unwrap();
        assert_eq!(again, config);
    }
}
