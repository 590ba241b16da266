//! Model bundles: everything needed to apply a trained model, in one directory.
//!
//! ```text
//! bundle.json        manifest: format, Kiln version, model kind and config, train config,
//!                    task (classes), final metrics, text input, and each file's SHA-256
//! model.bpk          the weights (Burn's burnpack store)
//! preprocessor.json  the fitted preprocessing, when there is one
//! vectorizer.json    the fitted text vectorizer, when there is one
//! profile.json       the training data's column profile, when there is one
//! ```
//!
//! [`Bundle::save`] writes into a staging directory and renames it into place, so a reader
//! never sees half a bundle. [`Bundle::load`] checks the format, the model kind, every file's
//! checksum and every weight's shape before it hands back a model.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use kiln_data::{Matrix, Preprocessor, Table, TableProfile, Vectorizer, datasets::sha256_file};
use kiln_models::{
    Cnn, CnnConfig, LinearModel, LinearModelConfig, Mlp, MlpConfig, ResidualCnn, ResidualCnnConfig,
    TextClassifier, TextClassifierConfig,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::error::{Result, TrainError, invalid};
use crate::model::Model;
use crate::trainer::outputs;

/// The bundle format this version writes and reads.
pub const BUNDLE_FORMAT: u32 = 1;

const MANIFEST: &str = "bundle.json";
const WEIGHTS: &str = "model.bpk";
const PREPROCESSOR: &str = "preprocessor.json";
const VECTORIZER: &str = "vectorizer.json";
const PROFILE: &str = "profile.json";

/// Why a bundle could not be written or read.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A file could not be read or written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The manifest or a JSON part is malformed.
    #[error("malformed JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Burn could not write or read the weights.
    #[error("weights: {0}")]
    Weights(#[from] burn::store::RecordError),
    /// The preprocessor, vectorizer or profile could not be written or read.
    #[error("{0}")]
    Data(#[from] kiln_data::DataError),
    /// The bundle was written by a newer, incompatible Kiln.
    #[error("format {found} is not the format {supported} this Kiln reads; upgrade Kiln")]
    Format {
        /// The bundle's format.
        found: u32,
        /// The format this build reads.
        supported: u32,
    },
    /// The bundle holds another kind of model than the one asked for.
    #[error("holds a `{found}` model, not a `{expected}`; load it as the model it holds")]
    WrongModel {
        /// The kind asked for.
        expected: String,
        /// The kind in the bundle.
        found: String,
    },
    /// A file does not match the checksum in the manifest.
    #[error("`{file}` does not match its checksum: the file is corrupt or was changed")]
    Checksum {
        /// The file.
        file: String,
    },
    /// The weights do not fit the model config in the manifest.
    #[error("weights do not fit the model config: {0}")]
    Shape(String),
    /// Input that the bundle's preprocessing cannot turn into features.
    #[error("{0}")]
    Input(String),
}

/// A model type that can be saved in and rebuilt from a bundle.
pub trait BundledModel: Model + Sized {
    /// The model's configuration.
    type Config: Serialize + DeserializeOwned + Clone + std::fmt::Debug;
    /// The name the manifest records (`mlp`, `cnn`, …).
    const KIND: &'static str;
    /// Builds an untrained model from its configuration.
    fn from_config(config: &Self::Config, device: &Device) -> kiln_models::Result<Self>;
}

macro_rules! bundled {
    ($model:ty, $config:ty, $kind:literal) => {
        impl BundledModel for $model {
            type Config = $config;
            const KIND: &'static str = $kind;
            fn from_config(config: &$config, device: &Device) -> kiln_models::Result<Self> {
                config.init(device)
            }
        }
    };
}

bundled!(LinearModel, LinearModelConfig, "linear");
bundled!(Mlp, MlpConfig, "mlp");
bundled!(Cnn, CnnConfig, "cnn");
bundled!(ResidualCnn, ResidualCnnConfig, "residual_cnn");
bundled!(TextClassifier, TextClassifierConfig, "text_classifier");

/// What the model predicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// One logit per class, in this order.
    Classification {
        /// The class names.
        classes: Vec<String>,
    },
    /// Real values: the first output, scaled back as `output · target_std + target_mean`
    /// (the targets were standardized for training; 1 and 0 when they were not).
    Regression {
        /// Mean of the training targets.
        target_mean: f32,
        /// Standard deviation of the training targets.
        target_std: f32,
    },
}

/// How a bundle's vectorizer turns texts into model inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextInput {
    /// `Vectorizer::transform_dense` rows.
    Dense,
    /// `Vectorizer::token_ids` rows of this many tokens.
    TokenIds {
        /// Tokens per row.
        max_len: usize,
    },
}

/// The manifest, `bundle.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`BUNDLE_FORMAT`] at writing.
    pub format: u32,
    /// The Kiln version that wrote it.
    pub kiln_version: String,
    /// [`BundledModel::KIND`].
    pub model: String,
    /// The model config, as JSON.
    pub model_config: serde_json::Value,
    /// The training settings.
    pub train_config: TrainConfig,
    /// What the model predicts.
    pub task: Task,
    /// Final metrics by name.
    pub metrics: BTreeMap<String, f64>,
    /// How texts become inputs, when the bundle has a vectorizer.
    pub text_input: Option<TextInput>,
    /// SHA-256 of every other file in the bundle.
    pub files: BTreeMap<String, String>,
}

/// A trained model with everything needed to apply it.
#[derive(Debug)]
pub struct Bundle<M: BundledModel> {
    /// The weights.
    pub model: M,
    /// The model's configuration.
    pub model_config: M::Config,
    /// The training settings.
    pub train_config: TrainConfig,
    /// What the model predicts.
    pub task: Task,
    /// Final metrics by name.
    pub metrics: BTreeMap<String, f64>,
    /// Fitted preprocessing from table to features.
    pub preprocessor: Option<Preprocessor>,
    /// Fitted text vectorizer, and how its output feeds the model.
    pub vectorizer: Option<(Vectorizer, TextInput)>,
    /// The training data's column profile (what drift monitoring compares against).
    pub profile: Option<TableProfile>,
    /// The Kiln version that wrote it (this one, for a new bundle).
    pub kiln_version: String,
}

impl<M: BundledModel> Bundle<M> {
    /// A bundle of a trained model, its config, the run's settings and the task.
    pub fn new(model: M, model_config: M::Config, train_config: TrainConfig, task: Task) -> Self {
        Self {
            model,
            model_config,
            train_config,
            task,
            metrics: BTreeMap::new(),
            preprocessor: None,
            vectorizer: None,
            profile: None,
            kiln_version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    /// Adds final metrics.
    pub fn with_metrics<'a>(mut self, metrics: impl IntoIterator<Item = (&'a str, f64)>) -> Self {
        self.metrics
            .extend(metrics.into_iter().map(|(k, v)| (k.to_owned(), v)));
        self
    }

    /// Adds the fitted preprocessing.
    pub fn with_preprocessor(mut self, preprocessor: Preprocessor) -> Self {
        self.preprocessor = Some(preprocessor);
        self
    }

    /// Adds the fitted text vectorizer and how its output feeds the model.
    pub fn with_vectorizer(mut self, vectorizer: Vectorizer, input: TextInput) -> Self {
        self.vectorizer = Some((vectorizer, input));
        self
    }

    /// Adds the training data's profile.
    pub fn with_profile(mut self, profile: TableProfile) -> Self {
        self.profile = Some(profile);
        self
    }

    /// Writes the bundle to `dir` (replacing a bundle there).
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        let staging = sibling(dir, ".partial");
        let _ = fs::remove_dir_all(&staging);
        self.write(&staging).map_err(|e| bundle(dir, e))?;
        let old = sibling(dir, ".old");
        let _ = fs::remove_dir_all(&old);
        if dir.exists() {
            fs::rename(dir, &old).map_err(|e| bundle(dir, e.into()))?;
        }
        fs::rename(&staging, dir).map_err(|e| bundle(dir, e.into()))?;
        let _ = fs::remove_dir_all(&old);
        Ok(())
    }

    fn write(&self, dir: &Path) -> Result<(), BundleError> {
        fs::create_dir_all(dir)?;
        self.model.clone().save_file(dir.join(WEIGHTS))?;
        if let Some(p) = &self.preprocessor {
            p.save(dir.join(PREPROCESSOR))?;
        }
        if let Some((v, _)) = &self.vectorizer {
            v.save(dir.join(VECTORIZER))?;
        }
        if let Some(p) = &self.profile {
            fs::write(dir.join(PROFILE), p.to_json()?)?;
        }
        let mut files = BTreeMap::new();
        for name in [WEIGHTS, PREPROCESSOR, VECTORIZER, PROFILE] {
            let path = dir.join(name);
            if path.exists() {
                files.insert(name.to_owned(), sha256_file(&path)?);
            }
        }
        let manifest = Manifest {
            format: BUNDLE_FORMAT,
            kiln_version: self.kiln_version.clone(),
            model: M::KIND.to_owned(),
            model_config: serde_json::to_value(&self.model_config)?,
            train_config: self.train_config.clone(),
            task: self.task.clone(),
            metrics: self.metrics.clone(),
            text_input: self.vectorizer.as_ref().map(|(_, input)| *input),
            files,
        };
        fs::write(dir.join(MANIFEST), serde_json::to_string_pretty(&manifest)?)?;
        Ok(())
    }

    /// Reads a bundle written by [`save`](Self::save) onto `device`.
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let dir = dir.as_ref();
        Self::read(dir, device).map_err(|e| bundle(dir, e))
    }

    fn read(dir: &Path, device: &Device) -> Result<Self, BundleError> {
        let manifest = read_manifest(dir)?;
        if manifest.model != M::KIND {
            return Err(BundleError::WrongModel {
                expected: M::KIND.to_owned(),
                found: manifest.model,
            });
        }
        for (name, expected) in &manifest.files {
            if !is_known_file(name) {
                return Err(BundleError::Input(format!(
                    "the manifest lists an unknown file `{name}`"
                )));
            }
            if sha256_file(&dir.join(name))? != *expected {
                return Err(BundleError::Checksum { file: name.clone() });
            }
        }
        let listed = |name: &str| manifest.files.contains_key(name).then(|| dir.join(name));
        let model_config: M::Config = serde_json::from_value(manifest.model_config.clone())?;
        let fresh =
            M::from_config(&model_config, device).map_err(|e| BundleError::Shape(e.to_string()))?;
        let expected = shapes(&fresh);
        let weights = listed(WEIGHTS)
            .ok_or_else(|| BundleError::Input(format!("the manifest lists no `{WEIGHTS}`")))?;
        let model = fresh.try_load_file(weights)?;
        let found = shapes(&model);
        if found != expected {
            return Err(BundleError::Shape(format!(
                "the config needs parameter shapes {expected:?}, the weights have {found:?}"
            )));
        }
        let preprocessor = listed(PREPROCESSOR).map(Preprocessor::load).transpose()?;
        let vectorizer = match (listed(VECTORIZER), manifest.text_input) {
            (Some(path), Some(input)) => Some((Vectorizer::load(path)?, input)),
            (None, None) => None,
            _ => {
                return Err(BundleError::Input(
                    "a vectorizer needs its text input mode and vice versa".into(),
                ));
            }
        };
        let profile = match listed(PROFILE) {
            Some(path) => Some(TableProfile::from_json(&fs::read_to_string(path)?)?),
            None => None,
        };
        Ok(Self {
            model,
            model_config,
            train_config: manifest.train_config,
            task: manifest.task,
            metrics: manifest.metrics,
            preprocessor,
            vectorizer,
            profile,
            kiln_version: manifest.kiln_version,
        })
    }

    /// Model outputs (class logits or values), one row per feature row.
    pub fn predict_features(&self, features: &Matrix, device: &Device) -> Result<Matrix> {
        outputs(&self.model, features, device, 256)
    }

    /// Model outputs for the rows of a table, through the bundled preprocessing.
    pub fn predict_table(&self, table: &Table, device: &Device) -> Result<Matrix> {
        let Some(preprocessor) = &self.preprocessor else {
            return Err(invalid(
                "bundle",
                "this bundle has no preprocessor; use predict_features",
            ));
        };
        self.predict_features(&preprocessor.transform(table)?, device)
    }

    /// Model outputs for texts, through the bundled vectorizer.
    pub fn predict_texts<S: AsRef<str>>(&self, texts: &[S], device: &Device) -> Result<Matrix> {
        let Some((vectorizer, input)) = &self.vectorizer else {
            return Err(invalid(
                "bundle",
                "this bundle has no vectorizer; use predict_features",
            ));
        };
        let features = match input {
            TextInput::Dense => vectorizer.transform_dense(texts),
            TextInput::TokenIds { max_len } => vectorizer.token_ids(texts, *max_len),
        };
        self.predict_features(&features, device)
    }

    /// The predicted value of each row of outputs from a regression bundle, in the targets'
    /// original units.
    pub fn values(&self, outputs: &Matrix) -> Result<Vec<f32>> {
        let Task::Regression {
            target_mean,
            target_std,
        } = self.task
        else {
            return Err(invalid(
                "bundle",
                "a classification bundle predicts classes; use class_names",
            ));
        };
        Ok((0..outputs.rows())
            .map(|r| outputs.row(r)[0] * target_std + target_mean)
            .collect())
    }

    /// The class name of each row of outputs from a classification bundle.
    pub fn class_names(&self, outputs: &Matrix) -> Result<Vec<String>> {
        let Task::Classification { classes } = &self.task else {
            return Err(invalid(
                "bundle",
                "a regression bundle has no classes; use values",
            ));
        };
        Ok((0..outputs.rows())
            .map(|r| classes[crate::trainer::argmax(outputs.row(r))].clone())
            .collect())
    }
}

/// Reads and checks a bundle's manifest without loading the model.
pub fn read_manifest(dir: &Path) -> Result<Manifest, BundleError> {
    let manifest: Manifest = serde_json::from_str(&fs::read_to_string(dir.join(MANIFEST))?)?;
    if manifest.format != BUNDLE_FORMAT {
        return Err(BundleError::Format {
            found: manifest.format,
            supported: BUNDLE_FORMAT,
        });
    }
    Ok(manifest)
}

fn is_known_file(name: &str) -> bool {
    [WEIGHTS, PREPROCESSOR, VECTORIZER, PROFILE].contains(&name)
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    dir.with_file_name(name)
}

fn bundle(path: &Path, source: BundleError) -> TrainError {
    TrainError::Bundle {
        path: path.to_owned(),
        source: Box::new(source),
    }
}

/// The shape of every float parameter, in visiting order.
fn shapes<M: Module>(model: &M) -> Vec<Vec<usize>> {
    struct Shapes(Vec<Vec<usize>>);
    impl ModuleVisitor for Shapes {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.val().dims().to_vec());
        }
    }
    let mut visitor = Shapes(Vec::new());
    model.visit(&mut visitor);
    visitor.0
}
