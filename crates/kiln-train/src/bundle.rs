//! Model bundles: everything needed to apply a trained model, in one directory. The layout,
//! the manifest and the checksums are `kiln_data::bundle`'s (plain data, no Burn); this
//! module writes and loads the weights with them.
//!
//! [`Bundle::save`] writes into a staging directory and renames it into place, so a reader
//! never sees half a bundle. [`Bundle::load`] checks the format, the model kind, every file's
//! checksum and every weight's shape before it hands back a model.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use kiln_data::bundle::{
    BundleError, FORMAT, Lineage, Manifest, PREPROCESSOR, PROFILE, TextInput, VECTORIZER, WEIGHTS,
};
use kiln_data::{Matrix, Preprocessor, Table, TableProfile, TargetEncoder, Vectorizer};
use kiln_models::{Cnn, LinearModel, Mlp, ResidualCnn, TextClassifier};

use crate::config::TrainConfig;
use crate::error::{Result, TrainError, invalid};
use crate::model::{Model, ModelConfig};
use crate::predictions::Predictions;
use crate::trainer::outputs;

/// A model type that can be saved in and rebuilt from a bundle.
pub trait BundledModel: Model + Sized {
    /// The model's configuration.
    type Config: ModelConfig<Model = Self>;
}

macro_rules! bundled {
    ($($model:ty => $config:ty),*) => {
        $(impl BundledModel for $model {
            type Config = $config;
        })*
    };
}

bundled!(
    LinearModel => kiln_models::LinearModelConfig,
    Mlp => kiln_models::MlpConfig,
    Cnn => kiln_models::CnnConfig,
    ResidualCnn => kiln_models::ResidualCnnConfig,
    TextClassifier => kiln_models::TextClassifierConfig
);

/// A trained model with everything needed to apply it.
#[derive(Debug)]
pub struct Bundle<M: BundledModel> {
    /// The weights.
    pub model: M,
    /// The model's configuration.
    pub model_config: M::Config,
    /// The training settings.
    pub train_config: TrainConfig,
    /// The fitted target: class names, or the regression target's scale.
    pub target: TargetEncoder,
    /// Final metrics by name.
    pub metrics: BTreeMap<String, f64>,
    /// Fitted preprocessing from table to features.
    pub preprocessor: Option<Preprocessor>,
    /// Fitted text vectorizer, and how its output feeds the model.
    pub vectorizer: Option<(Vectorizer, TextInput)>,
    /// The column a text bundle reads its texts from (none: the data's first text column).
    pub text_column: Option<String>,
    /// The training data's column profile (what drift monitoring compares against).
    pub profile: Option<TableProfile>,
    /// Where the bundle came from (data checksums, resolved config, seed).
    pub lineage: Option<Lineage>,
    /// The Kiln version that wrote it (this one, for a new bundle).
    pub kiln_version: String,
}

impl<M: BundledModel> Bundle<M> {
    /// A bundle of a trained model, its config, the run's settings and the fitted target.
    pub fn new(
        model: M,
        model_config: M::Config,
        train_config: TrainConfig,
        target: TargetEncoder,
    ) -> Self {
        Self {
            model,
            model_config,
            train_config,
            target,
            metrics: BTreeMap::new(),
            preprocessor: None,
            vectorizer: None,
            text_column: None,
            profile: None,
            lineage: None,
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

    /// Names the column the texts come from, so data with other text columns (an id, a
    /// subject) is read from the right one.
    pub fn with_text_column(mut self, column: impl Into<String>) -> Self {
        self.text_column = Some(column.into());
        self
    }

    /// Adds the training data's profile.
    pub fn with_profile(mut self, profile: TableProfile) -> Self {
        self.profile = Some(profile);
        self
    }

    /// Records where the bundle came from.
    pub fn with_lineage(mut self, lineage: Lineage) -> Self {
        self.lineage = Some(lineage);
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
        let io = |source| BundleError::Io {
            path: dir.to_owned(),
            source,
        };
        if dir.exists() {
            fs::rename(dir, &old).map_err(|e| bundle(dir, io(e)))?;
        }
        fs::rename(&staging, dir).map_err(|e| bundle(dir, io(e)))?;
        let _ = fs::remove_dir_all(&old);
        Ok(())
    }

    fn write(&self, dir: &Path) -> Result<(), BundleError> {
        fs::create_dir_all(dir).map_err(|source| BundleError::Io {
            path: dir.to_owned(),
            source,
        })?;
        self.model
            .clone()
            .save_file(dir.join(WEIGHTS))
            .map_err(|e| BundleError::Weights(Box::new(e)))?;
        if let Some(p) = &self.preprocessor {
            p.save(dir.join(PREPROCESSOR))?;
        }
        if let Some((v, _)) = &self.vectorizer {
            v.save(dir.join(VECTORIZER))?;
        }
        if let Some(p) = &self.profile {
            let path = dir.join(PROFILE);
            fs::write(&path, p.to_json()?).map_err(|source| BundleError::Io { path, source })?;
        }
        let manifest = Manifest {
            format: FORMAT,
            kiln_version: self.kiln_version.clone(),
            model: <M::Config as ModelConfig>::KIND.to_owned(),
            model_config: serde_json::to_value(&self.model_config)?,
            train_config: serde_json::to_value(&self.train_config)?,
            target: self.target.clone(),
            metrics: self.metrics.clone(),
            text_input: self.vectorizer.as_ref().map(|(_, input)| *input),
            text_column: self.text_column.clone(),
            lineage: self.lineage.clone(),
            files: Manifest::checksums(dir)?,
        };
        manifest.write(dir)
    }

    /// Reads a bundle written by [`save`](Self::save) onto `device`.
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let dir = dir.as_ref();
        Self::read(dir, device).map_err(|e| bundle(dir, e))
    }

    fn read(dir: &Path, device: &Device) -> Result<Self, BundleError> {
        let manifest = Manifest::read(dir)?;
        let kind = <M::Config as ModelConfig>::KIND;
        if manifest.model != kind {
            return Err(BundleError::WrongModel {
                expected: kind.to_owned(),
                found: manifest.model,
            });
        }
        manifest.verify(dir)?;
        let model_config: M::Config = serde_json::from_value(manifest.model_config.clone())?;
        let train_config: TrainConfig = serde_json::from_value(manifest.train_config.clone())?;
        let fresh = model_config
            .init(device)
            .map_err(|e| BundleError::ModelConfig(Box::new(e)))?;
        let expected = shapes(&fresh);
        let weights = manifest
            .part(dir, WEIGHTS)
            .ok_or_else(|| BundleError::Input(format!("the manifest lists no `{WEIGHTS}`")))?;
        let model = fresh
            .try_load_file(weights)
            .map_err(|e| BundleError::Weights(Box::new(e)))?;
        let found = shapes(&model);
        if found != expected {
            return Err(BundleError::Shape(format!(
                "the config needs parameter shapes {expected:?}, the weights have {found:?}"
            )));
        }
        let vectorizer = match (manifest.part(dir, VECTORIZER), manifest.text_input) {
            (Some(path), Some(input)) => Some((Vectorizer::load(path)?, input)),
            (None, None) => None,
            _ => {
                return Err(BundleError::Input(
                    "a vectorizer needs its text input mode and vice versa".into(),
                ));
            }
        };
        Ok(Self {
            model,
            model_config,
            train_config,
            preprocessor: manifest.preprocessor(dir)?,
            profile: manifest.profile(dir)?,
            vectorizer,
            text_column: manifest.text_column,
            target: manifest.target,
            metrics: manifest.metrics,
            lineage: manifest.lineage,
            kiln_version: manifest.kiln_version,
        })
    }

    /// Model outputs (class logits or values), one row per feature row.
    ///
    /// # Errors
    /// The rows are not as wide as the model's input.
    pub fn predict_features(&self, features: &Matrix, device: &Device) -> Result<Matrix> {
        if let Some(width) = self.model_config.input_width()
            && features.cols() != width
        {
            return Err(TrainError::InputWidth {
                expected: width,
                found: features.cols(),
            });
        }
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

    /// Outputs decoded through the target encoder: class names with probabilities, or values
    /// in the target's units.
    pub fn decode(&self, outputs: &Matrix) -> Predictions {
        Predictions::decode(&self.target, outputs)
    }

    /// The predicted value of each row of outputs from a regression bundle, in the targets'
    /// original units.
    pub fn values(&self, outputs: &Matrix) -> Result<Vec<f32>> {
        match self.decode(outputs) {
            Predictions::Values(values) => Ok(values.into_iter().map(|v| v as f32).collect()),
            Predictions::Classes { .. } => Err(invalid(
                "bundle",
                "a classification bundle predicts classes; use class_names",
            )),
        }
    }

    /// The class name of each row of outputs from a classification bundle.
    pub fn class_names(&self, outputs: &Matrix) -> Result<Vec<String>> {
        match self.decode(outputs) {
            predictions @ Predictions::Classes { .. } => Ok(predictions.labels()),
            Predictions::Values(_) => Err(invalid(
                "bundle",
                "a regression bundle has no classes; use values",
            )),
        }
    }
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
