//! One-line access to the datasets bundled in the repository's `datasets/` directory.
//!
//! Files are found in, in order: an explicit directory ([`Datasets::at`]), the directory in
//! `KILN_DATASETS_DIR`, and the repository's `datasets/` (when Kiln is built from a checkout).
//! Every file's SHA-256 is checked against the checksums compiled into this crate before it is
//! parsed.
//!
//! The small tables ([`TABULAR`], 650 KB in all) are also compiled into this crate (its
//! `tabular/` is a link to the repository's `datasets/tabular/`, which `cargo package` follows),
//! so [`tabular`] works wherever Kiln comes from, offline, as scikit-learn's `load_iris` does.
//!
//! With the `download` feature (on by default in the `kiln` facade), a file found nowhere is
//! fetched into a cache directory (`KILN_CACHE_DIR`, else the platform cache dir's
//! `kiln/datasets`, e.g. `~/.cache/kiln/datasets`), verified, and reused from there. The
//! sources, tried in order:
//! - MNIST's four files: its usual public mirrors ([`MNIST_MIRRORS`], PyTorch's and
//!   TensorFlow's). Their gzip headers differ from Kiln's copies, so a file from a mirror is
//!   accepted when its *decompressed* bytes have the SHA-256 of the published MNIST files;
//! - Fashion-MNIST's four files (not in the repository): Zalando Research's own locations
//!   ([`FASHION_MNIST_MIRRORS`]), checked against the MD5 checksums Zalando publishes (the
//!   only ones it gives; torchvision and Keras check the same);
//! - the `datasets/` directory of this release in Kiln's repository ([`DEFAULT_DATASETS_URL`]),
//!   or the mirror of that layout named by `KILN_DATASETS_URL` (tried first when set).
//!
//! `KILN_OFFLINE=1` turns downloads off.

use std::path::{Path, PathBuf};

use crate::checksum::{Expected, verify, verify_bytes};
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

/// The bundled tables' bytes, compiled in, by name (the same files as `datasets/tabular/`).
const EMBEDDED_TABULAR: &[(&str, &[u8])] = &[
    (
        "breast_cancer",
        include_bytes!("../tabular/breast_cancer.csv"),
    ),
    ("credit_g", include_bytes!("../tabular/credit_g.csv")),
    ("diabetes", include_bytes!("../tabular/diabetes.csv")),
    ("digits_8x8", include_bytes!("../tabular/digits_8x8.csv")),
    ("iris", include_bytes!("../tabular/iris.csv")),
    ("linnerud", include_bytes!("../tabular/linnerud.csv")),
    ("penguins", include_bytes!("../tabular/penguins.csv")),
    ("wine", include_bytes!("../tabular/wine.csv")),
    (
        "winequality_red",
        include_bytes!("../tabular/winequality_red.csv"),
    ),
];

/// Environment variable naming a datasets directory.
pub const DATASETS_DIR_ENV: &str = "KILN_DATASETS_DIR";
/// Environment variable naming a download mirror (base URL of the `datasets/` layout).
pub const DATASETS_URL_ENV: &str = "KILN_DATASETS_URL";
/// Environment variable naming the download cache directory.
pub const CACHE_DIR_ENV: &str = "KILN_CACHE_DIR";
/// Environment variable that, set to anything but `0` or empty, turns downloads off.
pub const OFFLINE_ENV: &str = "KILN_OFFLINE";

/// The default download source: this release's `datasets/` directory in Kiln's repository.
pub const DEFAULT_DATASETS_URL: &str = concat!(
    "https://raw.githubusercontent.com/kiln-ml/kiln/v",
    env!("CARGO_PKG_VERSION"),
    "/datasets"
);

/// MNIST's public mirrors (PyTorch's, then TensorFlow's), each serving the four
/// `*-ubyte.gz` files under their original names.
pub const MNIST_MIRRORS: &[&str] = &[
    "https://ossci-datasets.s3.amazonaws.com/mnist",
    "https://storage.googleapis.com/cvdf-datasets/mnist",
];

/// Fashion-MNIST's public locations (Zalando Research's GitHub repository, then its S3
/// website), each serving the four `*-ubyte.gz` files under their original names.
pub const FASHION_MNIST_MIRRORS: &[&str] = &[
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com",
];

/// Fashion-MNIST's class names, by label.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// The MD5 checksums Zalando Research publishes for Fashion-MNIST's files (its README; the
/// same in torchvision's `FashionMNIST.resources`).
const PUBLISHED_MD5: &[(&str, &str)] = &[
    (
        "fashion-mnist/train-images-idx3-ubyte.gz",
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    ),
    (
        "fashion-mnist/train-labels-idx1-ubyte.gz",
        "25c81989df183df01b3e8a0aad5dffbe",
    ),
    (
        "fashion-mnist/t10k-images-idx3-ubyte.gz",
        "bef4ecab320f06d8554ea6380940ec79",
    ),
    (
        "fashion-mnist/t10k-labels-idx1-ubyte.gz",
        "bb300cfdad3c16e7a12a480ee83cd310",
    ),
];

/// SHA-256 of the decompressed bytes of the gzip files that public mirrors also carry: the
/// published files' contents, whatever gzip header a mirror wrote (`zcat F | sha256sum`).
#[cfg(feature = "download")]
const CONTENT_CHECKSUMS: &[(&str, &str)] = &[
    (
        "mnist/t10k-images-idx3-ubyte.gz",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    (
        "mnist/t10k-labels-idx1-ubyte.gz",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
    (
        "mnist/train-images-idx3-ubyte.gz",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    (
        "mnist/train-labels-idx1-ubyte.gz",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
];

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

/// Where a file may be downloaded from.
#[cfg(feature = "download")]
#[derive(Debug, Clone)]
pub(crate) struct Source {
    /// The base URL.
    pub(crate) base: String,
    /// `None`: a mirror of the whole `datasets/` layout (`base/mnist/…`); `Some(dir)`: a
    /// mirror of one dataset's directory (`base/…` holds `dir/…`).
    pub(crate) dir: Option<String>,
}

#[cfg(feature = "download")]
impl Source {
    /// The URL of `file` (`mnist/…`) at this source, if it carries it.
    pub(crate) fn url(&self, file: &str) -> Option<String> {
        let base = self.base.trim_end_matches('/');
        match &self.dir {
            None => Some(format!("{base}/{file}")),
            Some(dir) => file
                .strip_prefix(dir.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .map(|name| format!("{base}/{name}")),
        }
    }
}

/// Where bundled datasets are looked up (and, with `download`, fetched to).
#[derive(Debug, Clone)]
pub struct Datasets {
    dirs: Vec<PathBuf>,
    /// Whether [`tabular`](Self::tabular) falls back on the tables compiled into this crate.
    embedded: bool,
    #[cfg(feature = "download")]
    cache: Option<PathBuf>,
    #[cfg(feature = "download")]
    sources: Vec<Source>,
}

impl Datasets {
    /// Looks in `KILN_DATASETS_DIR`, then the repository's `datasets/`, then (for the tables)
    /// in the copies compiled into this crate; with `download`, then fetches from the default
    /// sources (see the [module docs](self)) unless `KILN_OFFLINE` is set.
    pub fn locate() -> Self {
        let mut dirs = Vec::new();
        if let Some(dir) = std::env::var_os(DATASETS_DIR_ENV) {
            dirs.push(PathBuf::from(dir));
        }
        let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets");
        if checkout.is_dir() {
            dirs.push(checkout);
        }
        #[cfg(feature = "download")]
        {
            let offline = std::env::var(OFFLINE_ENV).is_ok_and(|v| !v.is_empty() && v != "0");
            let mut sources = Vec::new();
            if !offline {
                let layout = |base: String| Source { base, dir: None };
                let user = std::env::var(DATASETS_URL_ENV)
                    .ok()
                    .filter(|u| !u.is_empty());
                sources.extend(user.clone().map(layout));
                sources.extend(MNIST_MIRRORS.iter().map(|m| Source {
                    base: (*m).to_owned(),
                    dir: Some("mnist".into()),
                }));
                sources.extend(FASHION_MNIST_MIRRORS.iter().map(|m| Source {
                    base: (*m).to_owned(),
                    dir: Some("fashion-mnist".into()),
                }));
                if user.is_none() {
                    sources.push(layout(DEFAULT_DATASETS_URL.into()));
                }
            }
            Self {
                dirs,
                embedded: true,
                cache: (!offline).then(default_cache_dir),
                sources,
            }
        }
        #[cfg(not(feature = "download"))]
        Self {
            dirs,
            embedded: true,
        }
    }

    /// Looks in `dir` first, then where [`locate`](Self::locate) looks.
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        let mut datasets = Self::locate();
        datasets.dirs.insert(0, dir.into());
        datasets
    }

    /// Looks only in `dir` (no environment, no repository or compiled-in fallback, no
    /// download).
    pub fn only(dir: impl Into<PathBuf>) -> Self {
        Self {
            dirs: vec![dir.into()],
            embedded: false,
            #[cfg(feature = "download")]
            cache: None,
            #[cfg(feature = "download")]
            sources: Vec::new(),
        }
    }

    /// Only the tables compiled into this crate ([`TABULAR`]): no directory, no download.
    pub fn compiled() -> Self {
        Self {
            dirs: Vec::new(),
            embedded: true,
            #[cfg(feature = "download")]
            cache: None,
            #[cfg(feature = "download")]
            sources: Vec::new(),
        }
    }

    /// Fetches files found nowhere into `cache_dir`, from `base_url` (a mirror of the
    /// `datasets/` layout) before any other source, verifying each checksum before use.
    #[cfg(feature = "download")]
    pub fn with_download(
        mut self,
        base_url: impl Into<String>,
        cache_dir: impl Into<PathBuf>,
    ) -> Self {
        self.cache = Some(cache_dir.into());
        self.sources.insert(
            0,
            Source {
                base: base_url.into(),
                dir: None,
            },
        );
        self
    }

    /// Tries `base_url` first for the files of one dataset directory (`"mnist"`: `base_url`
    /// serves `train-images-idx3-ubyte.gz`, …), e.g. a site's own copy of a public mirror. A
    /// gzip file from it is accepted when its decompressed bytes match the published ones.
    /// Needs a cache directory: [`with_download`](Self::with_download) or [`locate`](Self::locate).
    #[cfg(feature = "download")]
    pub fn with_mirror(mut self, dir: impl Into<String>, base_url: impl Into<String>) -> Self {
        self.sources.insert(
            0,
            Source {
                base: base_url.into(),
                dir: Some(dir.into()),
            },
        );
        self
    }

    /// The verified path of a bundled file, e.g. `tabular/iris.csv` (or of a Fashion-MNIST
    /// file, `fashion-mnist/train-images-idx3-ubyte.gz`, checked by its published MD5).
    pub fn path(&self, file: &str) -> Result<PathBuf> {
        let expected = expected_checksum(file)?;
        if let Some(path) = self.local(file, expected)? {
            return Ok(path);
        }
        #[cfg(feature = "download")]
        if let Some(cache) = &self.cache
            && !self.sources.is_empty()
        {
            let content = CONTENT_CHECKSUMS
                .iter()
                .find(|(name, _)| *name == file)
                .map(|(_, sum)| *sum);
            return crate::download::fetch(&self.sources, cache, file, expected, content);
        }
        let searched: Vec<String> = self.dirs.iter().map(|d| d.display().to_string()).collect();
        Err(DataError::DatasetNotFound {
            file: file.into(),
            searched: searched.join(", "),
            hint: format!(
                "Set {DATASETS_DIR_ENV} to a copy of Kiln's datasets/ directory, or enable the \
                 `download` feature (and unset {OFFLINE_ENV})."
            ),
        })
    }

    /// The verified path of `file` in the first directory that holds it, if one does.
    fn local(&self, file: &str, expected: Expected) -> Result<Option<PathBuf>> {
        for dir in &self.dirs {
            let path = dir.join(file);
            if path.is_file() {
                verify(&path, expected)?;
                return Ok(Some(path));
            }
        }
        Ok(None)
    }

    /// MNIST's training or test part.
    pub fn mnist(&self, split: Split) -> Result<MnistDataset> {
        self.idx_pair("mnist", split)
    }

    /// Fashion-MNIST's training or test part (labels name [`FASHION_MNIST_CLASSES`]). Not in
    /// the repository: found in `fashion-mnist/` of a datasets directory or the cache, else
    /// downloaded from [`FASHION_MNIST_MIRRORS`] and checked by its published MD5.
    pub fn fashion_mnist(&self, split: Split) -> Result<MnistDataset> {
        self.idx_pair("fashion-mnist", split)
    }

    fn idx_pair(&self, dir: &str, split: Split) -> Result<MnistDataset> {
        let prefix = match split {
            Split::Train => "train",
            Split::Test => "t10k",
        };
        MnistDataset::load(
            self.path(&format!("{dir}/{prefix}-images-idx3-ubyte.gz"))?,
            self.path(&format!("{dir}/{prefix}-labels-idx1-ubyte.gz"))?,
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
        let file = format!("tabular/{name}.csv");
        let embedded = EMBEDDED_TABULAR
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, bytes)| *bytes)
            .filter(|_| self.embedded);
        let expected = expected_checksum(&file)?;
        let table = match (self.local(&file, expected)?, embedded) {
            (Some(path), _) => CsvLoader::new().load(path)?,
            (None, Some(bytes)) => {
                // A mismatch means a checkout whose `tabular/` link was not followed (e.g. git
                // on Windows without symlinks).
                let origin = format!("kiln-data (compiled in)/{file}");
                verify_bytes(Path::new(&origin), bytes, expected)?;
                CsvLoader::new().load_bytes(&file, bytes)?
            }
            (None, None) => CsvLoader::new().load(self.path(&file)?)?,
        };
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

/// Fashion-MNIST from the default locations; see [`Datasets::fashion_mnist`].
pub fn fashion_mnist(split: Split) -> Result<MnistDataset> {
    Datasets::locate().fashion_mnist(split)
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

fn expected_checksum(file: &str) -> Result<Expected> {
    checksum_entries()
        .find(|(_, name)| *name == file)
        .map(|(sum, _)| Expected::Sha256(sum))
        .or_else(|| {
            PUBLISHED_MD5
                .iter()
                .find(|(name, _)| *name == file)
                .map(|(_, sum)| Expected::Md5(sum))
        })
        .ok_or_else(|| DataError::UnknownDataset {
            name: file.into(),
            available: checksum_entries()
                .map(|(_, n)| n)
                .chain(PUBLISHED_MD5.iter().map(|(n, _)| *n))
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
