//! One-line access to the datasets bundled in the repository's `datasets/` directory.
//!
//! Files are found in, in order: an explicit directory ([`Datasets::at`]), the directory in
//! `KILN_DATASETS_DIR`, and the repository's `datasets/` (when Kiln is built from a checkout).
//! Every file's SHA-256 is checked against the checksums compiled into this crate before it is
//! parsed. With the `download` feature, a file found nowhere is fetched from a mirror of the
//! `datasets/` layout (`Datasets::with_download` or `KILN_DATASETS_URL`) into a cache
//! directory, verified, and reused from there.

use std::path::{Path, PathBuf};

use crate::checksum::verify;
use crate::column::Table;
use crate::csv::CsvLoader;
use crate::error::{DataError, Result};
use crate::idx::MnistDataset;
use crate::text::TextDataset;

/// The bundled tabular datasets, by name (`datasets/tabular/NAME.csv`).
pub const TABULAR: &[&str] = &[
    "breast_cancer",
    "credit_g",
    "diabetes",
    "digits_8x8",
    "iris",
    "linnerud",
    "penguins",
    "wine",
    "winequality_red",
];

/// Environment variable naming a datasets directory.
pub const DATASETS_DIR_ENV: &str = "KILN_DATASETS_DIR";
/// Environment variable naming a download mirror (base URL of the `datasets/` layout).
pub const DATASETS_URL_ENV: &str = "KILN_DATASETS_URL";
/// Environment variable naming the download cache directory.
pub const CACHE_DIR_ENV: &str = "KILN_CACHE_DIR";

/// `sha256  ./relative/path` lines, a copy of `datasets/SHA256SUMS` (a test keeps them equal).
const CHECKSUMS: &str = include_str!("../datasets.sha256");

/// Which part of a dataset with a fixed train/test split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The training part (MNIST: 60,000 images).
    Train,
    /// The test part (MNIST: 10,000 images).
    Test,
}

/// Where bundled datasets are looked up (and, with `download`, fetched to).
#[derive(Debug, Clone)]
pub struct Datasets {
    dirs: Vec<PathBuf>,
    #[cfg(feature = "download")]
    download: Option<(String, PathBuf)>,
}

impl Datasets {
    /// Looks in `KILN_DATASETS_DIR`, then the repository's `datasets/`.
    pub fn locate() -> Self {
        let mut dirs = Vec::new();
        if let Some(dir) = std::env::var_os(DATASETS_DIR_ENV) {
            dirs.push(PathBuf::from(dir));
        }
        dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets"));
        Self {
            dirs,
            #[cfg(feature = "download")]
            download: std::env::var(DATASETS_URL_ENV)
                .ok()
                .map(|url| (url, default_cache_dir())),
        }
    }

    /// Looks in `dir` first, then where [`locate`](Self::locate) looks.
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        let mut datasets = Self::locate();
        datasets.dirs.insert(0, dir.into());
        datasets
    }

    /// Looks only in `dir` (no environment, no repository fallback, no download).
    pub fn only(dir: impl Into<PathBuf>) -> Self {
        Self {
            dirs: vec![dir.into()],
            #[cfg(feature = "download")]
            download: None,
        }
    }

    /// Fetches files found nowhere from `base_url` (a mirror of the `datasets/` layout) into
    /// `cache_dir`, verifying each checksum before use.
    #[cfg(feature = "download")]
    pub fn with_download(
        mut self,
        base_url: impl Into<String>,
        cache_dir: impl Into<PathBuf>,
    ) -> Self {
        self.download = Some((base_url.into(), cache_dir.into()));
        self
    }

    /// The verified path of a bundled file, e.g. `tabular/iris.csv`.
    pub fn path(&self, file: &str) -> Result<PathBuf> {
        let expected = expected_checksum(file)?;
        for dir in &self.dirs {
            let path = dir.join(file);
            if path.is_file() {
                verify(&path, expected)?;
                return Ok(path);
            }
        }
        #[cfg(feature = "download")]
        if let Some((url, cache)) = &self.download {
            return crate::download::fetch(url, cache, file, expected);
        }
        let searched: Vec<String> = self.dirs.iter().map(|d| d.display().to_string()).collect();
        Err(DataError::DatasetNotFound {
            file: file.into(),
            searched: searched.join(", "),
            hint: format!(
                "Set {DATASETS_DIR_ENV} to a copy of Kiln's datasets/ directory, or enable the \
                 `download` feature and set {DATASETS_URL_ENV}."
            ),
        })
    }

    /// MNIST's training or test part.
    pub fn mnist(&self, split: Split) -> Result<MnistDataset> {
        let prefix = match split {
            Split::Train => "train",
            Split::Test => "t10k",
        };
        MnistDataset::load(
            self.path(&format!("mnist/{prefix}-images-idx3-ubyte.gz"))?,
            self.path(&format!("mnist/{prefix}-labels-idx1-ubyte.gz"))?,
        )
    }

    /// A bundled CSV by name (see [`TABULAR`]), with its `label` or `target` column marked as
    /// the target (linnerud has three targets and none is marked).
    pub fn tabular(&self, name: &str) -> Result<Table> {
        if !TABULAR.contains(&name) {
            return Err(DataError::UnknownDataset {
                name: name.into(),
                available: TABULAR.join(", "),
            });
        }
        let table = CsvLoader::new().load(self.path(&format!("tabular/{name}.csv"))?)?;
        let target = ["label", "target"]
            .into_iter()
            .find(|t| table.schema().index_of(t).is_ok());
        match target {
            Some(t) => table.with_target(t),
            None => Ok(table),
        }
    }

    /// The SpamAssassin corpus: 6,046 raw e-mails labelled ham (0) or spam (1).
    pub fn spam_assassin(&self) -> Result<TextDataset> {
        TextDataset::from_csv(self.path("text/spam_assassin.csv.gz")?, "text", "label")
    }
}

/// MNIST from the default locations; see [`Datasets::mnist`].
pub fn mnist(split: Split) -> Result<MnistDataset> {
    Datasets::locate().mnist(split)
}

/// A bundled CSV from the default locations; see [`Datasets::tabular`].
pub fn tabular(name: &str) -> Result<Table> {
    Datasets::locate().tabular(name)
}

/// The SpamAssassin corpus from the default locations; see [`Datasets::spam_assassin`].
pub fn spam_assassin() -> Result<TextDataset> {
    Datasets::locate().spam_assassin()
}

fn checksum_entries() -> impl Iterator<Item = (&'static str, &'static str)> {
    CHECKSUMS
        .lines()
        .filter_map(|line| line.split_once("  "))
        .map(|(sum, name)| (sum, name.trim_start_matches("./")))
}

fn expected_checksum(file: &str) -> Result<&'static str> {
    checksum_entries()
        .find(|(_, name)| *name == file)
        .map(|(sum, _)| sum)
        .ok_or_else(|| DataError::UnknownDataset {
            name: file.into(),
            available: checksum_entries()
                .map(|(_, n)| n)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

#[cfg(feature = "download")]
fn default_cache_dir() -> PathBuf {
    std::env::var_os(CACHE_DIR_ENV)
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("kiln").join("datasets")))
        .unwrap_or_else(|| std::env::temp_dir().join("kiln-datasets"))
}
