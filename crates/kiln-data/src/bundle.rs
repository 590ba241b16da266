//! The plain-data part of Kiln's model-bundle format: the manifest, the file layout, the
//! checksums and the errors. `kiln_train::Bundle` writes and loads whole bundles (it needs
//! Burn for the weights); crates without Burn, such as `kiln-monitor`, read bundles through
//! this module.
//!
//! ```text
//! bundle.json        manifest: format, Kiln version, model kind and config, train config,
//!                    target encoder, final metrics, text input, lineage, each file's SHA-256
//! model.bpk          the weights (Burn's burnpack store)
//! preprocessor.json  the fitted preprocessing, when there is one
//! vectorizer.json    the fitted text vectorizer, when there is one
//! profile.json       the training data's column profile, when there is one
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::checksum::sha256_file;
use crate::error::DataError;
use crate::preprocess::Preprocessor;
use crate::profile::TableProfile;
use crate::target_encoder::TargetEncoder;

/// The bundle format this version writes and reads. Format 2 replaced format 1's `task` with
/// the fitted [`TargetEncoder`] and added [`Lineage`].
pub const FORMAT: u32 = 2;

/// The manifest's file name.
pub const MANIFEST: &str = "bundle.json";
/// The weights' file name.
pub const WEIGHTS: &str = "model.bpk";
/// The fitted preprocessor's file name.
pub const PREPROCESSOR: &str = "preprocessor.json";
/// The fitted vectorizer's file name.
pub const VECTORIZER: &str = "vectorizer.json";
/// The training profile's file name.
pub const PROFILE: &str = "profile.json";
/// Every file a manifest may list.
pub const FILES: [&str; 4] = [WEIGHTS, PREPROCESSOR, VECTORIZER, PROFILE];

/// Why a bundle could not be written or read.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The directory has no manifest.
    #[error("no {MANIFEST} in {}: not a Kiln model bundle (`kiln train` writes one)", dir.display())]
    NotABundle {
        /// The directory.
        dir: PathBuf,
    },
    /// The manifest is malformed.
    #[error("malformed JSON in {MANIFEST}: {0}")]
    Json(#[from] serde_json::Error),
    /// Burn could not write or read the weights.
    #[error("weights: {0}")]
    Weights(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The preprocessor, vectorizer or profile could not be written or read.
    #[error("{0}")]
    Data(#[from] DataError),
    /// The bundle was written in another format.
    #[error(
        "format {found}, but this Kiln reads format {supported}; use the Kiln version that \
         wrote it, or train the bundle again"
    )]
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
    /// A part the caller needs is not in the bundle.
    #[error("has no `{file}`: {hint}")]
    MissingPart {
        /// The file.
        file: String,
        /// What to do.
        hint: String,
    },
    /// The weights do not fit the model config in the manifest.
    #[error("weights do not fit the model config: {0}")]
    Shape(String),
    /// The manifest's model config does not describe a model that can be built.
    #[error("the model config cannot build a model: {0}")]
    ModelConfig(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Input that the bundle's preprocessing cannot turn into features, or a manifest that
    /// contradicts itself.
    #[error("{0}")]
    Input(String),
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

/// A data file a bundle was trained or tested on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataFile {
    /// The path as given.
    pub path: String,
    /// SHA-256 of the file (of every file, in name order, for a directory).
    pub sha256: String,
    /// Rows (examples) read from it.
    pub rows: u64,
}

/// Where a bundle came from: enough to train it again to the same weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lineage {
    /// The data files, training data first.
    pub data: Vec<DataFile>,
    /// The fully resolved pipeline configuration (every default written out).
    pub config: serde_json::Value,
    /// The seed of the split, initialization and shuffling.
    pub seed: u64,
}

/// The manifest, `bundle.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`] at writing.
    pub format: u32,
    /// The Kiln version that wrote it.
    pub kiln_version: String,
    /// The model kind (`linear`, `mlp`, `cnn`, …).
    pub model: String,
    /// The model config, as JSON.
    pub model_config: serde_json::Value,
    /// The training settings (`kiln_train::TrainConfig`), as JSON.
    pub train_config: serde_json::Value,
    /// The fitted target: class names, or the regression target's scale.
    pub target: TargetEncoder,
    /// Final metrics by name.
    pub metrics: BTreeMap<String, f64>,
    /// How texts become inputs, when the bundle has a vectorizer.
    pub text_input: Option<TextInput>,
    /// The column a text bundle reads its texts from. Bundles written before it was recorded
    /// have none, and are read from the data's first text column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_column: Option<String>,
    /// Where the bundle came from, when it was trained by a pipeline.
    #[serde(default)]
    pub lineage: Option<Lineage>,
    /// SHA-256 of every other file in the bundle.
    pub files: BTreeMap<String, String>,
}

impl Manifest {
    /// Reads `dir/bundle.json` and checks its format (not yet the files; see
    /// [`verify`](Self::verify)).
    pub fn read(dir: &Path) -> Result<Self, BundleError> {
        let path = dir.join(MANIFEST);
        if !path.is_file() {
            return Err(BundleError::NotABundle {
                dir: dir.to_owned(),
            });
        }
        let text = fs::read_to_string(&path).map_err(|source| BundleError::Io { path, source })?;
        let manifest: Self = serde_json::from_str(&text)?;
        if manifest.format != FORMAT {
            return Err(BundleError::Format {
                found: manifest.format,
                supported: FORMAT,
            });
        }
        Ok(manifest)
    }

    /// Writes the manifest as `dir/bundle.json`.
    pub fn write(&self, dir: &Path) -> Result<(), BundleError> {
        let path = dir.join(MANIFEST);
        fs::write(&path, serde_json::to_string_pretty(self)?)
            .map_err(|source| BundleError::Io { path, source })
    }

    /// Checks that every listed file is one a bundle holds and matches its checksum.
    pub fn verify(&self, dir: &Path) -> Result<(), BundleError> {
        for (name, expected) in &self.files {
            if !FILES.contains(&name.as_str()) {
                return Err(BundleError::Input(format!(
                    "the manifest lists an unknown file `{name}`"
                )));
            }
            if sha256_file(&dir.join(name))? != *expected {
                return Err(BundleError::Checksum { file: name.clone() });
            }
        }
        Ok(())
    }

    /// The checksums of the bundle files present in `dir`, for [`files`](Self::files).
    pub fn checksums(dir: &Path) -> Result<BTreeMap<String, String>, BundleError> {
        let mut files = BTreeMap::new();
        for name in FILES {
            let path = dir.join(name);
            if path.exists() {
                files.insert(name.to_owned(), sha256_file(&path)?);
            }
        }
        Ok(files)
    }

    /// The path of a listed part, `None` when the bundle has none.
    pub fn part(&self, dir: &Path, name: &str) -> Option<PathBuf> {
        self.files.contains_key(name).then(|| dir.join(name))
    }

    /// The bundle's fitted preprocessor, if it has one.
    pub fn preprocessor(&self, dir: &Path) -> Result<Option<Preprocessor>, BundleError> {
        Ok(self
            .part(dir, PREPROCESSOR)
            .map(Preprocessor::load)
            .transpose()?)
    }

    /// The bundle's training profile, if it has one.
    pub fn profile(&self, dir: &Path) -> Result<Option<TableProfile>, BundleError> {
        let Some(path) = self.part(dir, PROFILE) else {
            return Ok(None);
        };
        let text = fs::read_to_string(&path).map_err(|source| BundleError::Io { path, source })?;
        Ok(Some(TableProfile::from_json(&text)?))
    }
}
