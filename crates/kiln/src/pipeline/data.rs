//! The pipeline's data stage: read a file or directory by its format, and split its rows.

use std::path::{Path, PathBuf};

use kiln_data::bundle::DataFile;
use kiln_data::datasets::Split;
use kiln_data::{
    CifarDataset, CifarKind, ColorMode, Column, ColumnData, CsvLoader, ImageFolder, ImageSet,
    MnistDataset, ParquetLoader, SkippedImage, Table, TargetEncoder, Task, resolve_task,
    sha256_file, split,
};

use crate::pipeline::config::{DataFormat, DataSection, ImageColor, SplitKind};
use crate::pipeline::error::{PipelineError, Result, data_error, invalid};

/// What kind of examples a data source holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// A table of typed columns.
    Table,
    /// One free-text column per row.
    Text,
    /// Images (IDX, CIFAR, an image folder).
    Images,
}

/// Examples read from one file or directory.
#[derive(Debug, Clone)]
pub enum Examples {
    /// A table (also a text table), with its target column set.
    Table(Table),
    /// Images with their labels.
    Images(ImageSet),
}

impl Examples {
    /// Rows.
    pub fn rows(&self) -> usize {
        match self {
            Self::Table(t) => t.rows(),
            Self::Images(m) => m.len(),
        }
    }

    /// The rows at `indices`.
    pub fn take(&self, indices: &[usize]) -> Self {
        match self {
            Self::Table(t) => Self::Table(t.take(indices)),
            Self::Images(m) => Self::Images(m.take(indices)),
        }
    }

    /// The target column. Images: their labels, as integers when the classes are numbered
    /// `0, 1, …` (IDX digits), else as class names (folders, CIFAR's names).
    pub fn target(&self) -> Option<Column> {
        match self {
            Self::Table(t) => t.target().cloned(),
            Self::Images(m) => {
                let numbered = m
                    .classes()
                    .iter()
                    .enumerate()
                    .all(|(i, c)| *c == i.to_string());
                let data = if numbered {
                    ColumnData::Integer(m.labels().iter().map(|&l| i64::from(l)).collect())
                } else {
                    ColumnData::Categorical {
                        codes: m.labels().to_vec(),
                        levels: m.classes().to_vec(),
                    }
                };
                Some(Column::new("label", data, None))
            }
        }
    }
}

/// The data a pipeline trains and tests on.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// What the examples are.
    pub kind: DataKind,
    /// The format it was read as.
    pub format: DataFormat,
    /// The training examples (all examples, when the test part is split from them).
    pub train: Examples,
    /// Test examples from their own file, when there is one.
    pub test: Option<Examples>,
    /// The files read, with checksums and rows, training data first.
    pub files: Vec<DataFile>,
    /// The free-text column of a text table.
    pub text_column: Option<String>,
    /// Image files left out because they could not be decoded (`skip_corrupt`).
    pub skipped: Vec<SkippedImage>,
}

/// Rows of the training examples (and of the test examples, or of the training examples
/// when the test part was split from them).
#[derive(Debug, Clone, PartialEq)]
pub struct Parts {
    /// Rows trained on.
    pub train: Vec<usize>,
    /// Rows validated on (carved from the training part).
    pub valid: Vec<usize>,
    /// Rows tested on.
    pub test: Vec<usize>,
    /// Whether `test` indexes [`Dataset::test`] rather than [`Dataset::train`].
    pub test_is_separate: bool,
}

/// The format `format` resolves to for `path`.
pub fn resolve_format(path: &Path, format: DataFormat) -> Result<DataFormat> {
    if format != DataFormat::Auto {
        return Ok(format);
    }
    if is_parquet(path) {
        return Ok(DataFormat::Parquet);
    }
    if path.is_dir() {
        if cifar_kind(path).is_some() {
            return Ok(DataFormat::Cifar);
        }
        if kiln_data::is_image_folder(path) && !has_idx_files(path) {
            return Ok(DataFormat::Images);
        }
        return Ok(DataFormat::Idx);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if name.ends_with(".csv") || name.ends_with(".csv.gz") || name.ends_with(".tsv") {
        // Text or table: decided once the columns are known.
        return Ok(DataFormat::Csv);
    }
    if !path.exists() {
        return Err(PipelineError::Io {
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
        });
    }
    Err(invalid(
        "data.format",
        format!(
            "cannot tell the format of {}: name a .csv or .csv.gz file, a .parquet file or a \
             directory of them, or a directory of IDX files, CIFAR binaries or class folders \
             of images; or set `data.format` (csv, text, parquet, idx, cifar, images)",
            path.display()
        ),
    ))
}

/// Whether a column holds free text: typed as text, or categorical with mostly distinct
/// values that are mostly several words.
fn is_free_text(column: &Column) -> bool {
    match column.data() {
        ColumnData::Text(_) => true,
        ColumnData::Categorical { levels, .. } => {
            let words = levels.iter().filter(|l| l.trim().contains(' ')).count();
            levels.len() * 2 > column.len() && words * 2 > levels.len()
        }
        _ => false,
    }
}

/// Reads the data `section` names.
pub fn load(section: &DataSection) -> Result<Dataset> {
    let format = resolve_format(&section.path, section.format)?;
    match format {
        DataFormat::Idx => load_idx(section),
        DataFormat::Cifar => load_cifar(section),
        DataFormat::Images => load_image_folder(section),
        _ => load_csv(section, format),
    }
}

/// Reads a CSV or TSV file as it is, with no target (for `kiln validate` without one): every
/// column is a feature, and the file's checksum and rows are recorded as [`load`] does.
pub fn load_table(path: &Path) -> Result<Dataset> {
    let (table, file) = read_table(path, None, DataFormat::Csv)?;
    Ok(Dataset {
        kind: DataKind::Table,
        format: DataFormat::Csv,
        train: Examples::Table(table),
        test: None,
        files: vec![file],
        text_column: None,
        skipped: Vec::new(),
    })
}

/// Whether `path` is Parquet: a `.parquet`, `.parq` or `.pq` file, or a directory with such
/// files directly in it or in its sub-directories (Hive-style partitions).
pub fn is_parquet(path: &Path) -> bool {
    ParquetLoader::is_parquet(path)
}

/// Reads one table file: Parquet (a file or a directory of parts) by its name, else a delimited
/// file (a tab-separated one by its `.tsv` name), with its record.
fn read_table(
    path: &Path,
    target: Option<&String>,
    format: DataFormat,
) -> Result<(Table, DataFile)> {
    if is_parquet(path) {
        let mut loader = ParquetLoader::new();
        if let Some(target) = target {
            loader = loader.with_target(target.clone());
        }
        let table = loader.load(path).map_err(data_error(path))?;
        let file = data_file(path, table.rows())?;
        return Ok((table, file));
    }
    let mut loader = CsvLoader::new();
    if let Some(target) = target {
        loader = loader.with_target(target.clone());
    }
    if path.to_string_lossy().ends_with(".tsv") {
        loader = loader.with_delimiter(b'\t');
    }
    if format == DataFormat::Text {
        loader = loader.with_missing_values::<&str>(&[]);
    }
    let table = loader.load(path).map_err(data_error(path))?;
    let file = data_file(path, table.rows())?;
    Ok((table, file))
}

fn load_csv(section: &DataSection, format: DataFormat) -> Result<Dataset> {
    let Some(target) = &section.target else {
        return Err(invalid(
            "data.target",
            format!(
                "{} is a table: name the column to predict (`--target COLUMN`)",
                section.path.display()
            ),
        ));
    };
    let read = |path: &Path| read_table(path, Some(target), format);
    let (train, file) = read(&section.path)?;
    for name in &section.ignore {
        train.column(name).map_err(|e| {
            invalid(
                "data.ignore",
                format!("{e} (in {})", section.path.display()),
            )
        })?;
    }
    let features: Vec<&Column> = train
        .features()
        .filter(|c| !section.ignore.iter().any(|i| i == c.name()))
        .collect();
    let text_column = match (format, features.as_slice()) {
        (DataFormat::Text, [one]) => Some(one.name().to_owned()),
        (DataFormat::Text, _) => {
            return Err(invalid(
                "data.format",
                format!(
                    "text data needs exactly one feature column besides the target; {} has \
                     {} (leave the others out with `data.ignore`)",
                    section.path.display(),
                    features.len()
                ),
            ));
        }
        (_, [one]) if is_free_text(one) => Some(one.name().to_owned()),
        _ => None,
    };
    if features.is_empty() {
        return Err(invalid(
            "data.ignore",
            format!(
                "{} has no feature columns left besides the target `{target}`",
                section.path.display()
            ),
        ));
    }
    let mut files = vec![file];
    let test = match &section.test_path {
        Some(path) => {
            let (test, file) = read(path)?;
            files.push(file);
            Some(Examples::Table(test))
        }
        None => None,
    };
    Ok(Dataset {
        kind: if text_column.is_some() {
            DataKind::Text
        } else {
            DataKind::Table
        },
        format: if text_column.is_some() {
            DataFormat::Text
        } else if format == DataFormat::Parquet {
            DataFormat::Parquet
        } else {
            DataFormat::Csv
        },
        train: Examples::Table(train),
        test,
        files,
        text_column,
        skipped: Vec::new(),
    })
}

fn load_idx(section: &DataSection) -> Result<Dataset> {
    let dir = &section.path;
    let entries = std::fs::read_dir(dir).map_err(|source| PipelineError::Io {
        path: dir.clone(),
        source,
    })?;
    let mut names: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    let find = |patterns: &[&str]| -> Option<PathBuf> {
        names
            .iter()
            .find(|p| {
                let name = p.file_name().unwrap_or_default().to_string_lossy();
                patterns.iter().any(|pattern| name.contains(pattern))
            })
            .cloned()
    };
    let need = |patterns: &[&str]| -> Result<PathBuf> {
        find(patterns).ok_or_else(|| {
            invalid(
                "data.path",
                format!(
                    "{} has no file named like `*{}*` (an IDX directory holds \
                     train-images-idx3-ubyte and train-labels-idx1-ubyte, plain or .gz, and \
                     optionally t10k-* test files)",
                    dir.display(),
                    patterns[0]
                ),
            )
        })
    };
    let read = |images: &Path, labels: &Path, files: &mut Vec<DataFile>| -> Result<ImageSet> {
        let set = MnistDataset::load(images, labels).map_err(data_error(images))?;
        files.push(data_file(images, set.len())?);
        files.push(data_file(labels, set.len())?);
        Ok(ImageSet::from(&set))
    };
    no_target(section, "IDX images")?;
    let mut files = Vec::new();
    let train = read(
        &need(&["train-images"])?,
        &need(&["train-labels"])?,
        &mut files,
    )?;
    let test = match (
        find(&["t10k-images", "test-images"]),
        find(&["t10k-labels", "test-labels"]),
    ) {
        (Some(images), Some(labels)) => Some(Examples::Images(read(&images, &labels, &mut files)?)),
        _ => None,
    };
    if section.test_path.is_some() {
        return Err(invalid(
            "data.test_path",
            "an IDX directory holds its own test files (t10k-*); drop `test_path`",
        ));
    }
    Ok(Dataset {
        kind: DataKind::Images,
        format: DataFormat::Idx,
        train: Examples::Images(train),
        test,
        files,
        text_column: None,
        skipped: Vec::new(),
    })
}

/// An error when a target column is named for images, whose labels are the target.
fn no_target(section: &DataSection, what: &str) -> Result<()> {
    match &section.target {
        Some(target) => Err(invalid(
            "data.target",
            format!(
                "{} is a directory of {what} whose labels are the target; drop \
                 `target = \"{target}\"`",
                section.path.display()
            ),
        )),
        None => Ok(()),
    }
}

/// Whether `dir` holds IDX files (`*-idx*-ubyte`, plain or gzip) directly.
fn has_idx_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.filter_map(|e| e.ok()).any(|e| {
            let name = e.file_name().to_string_lossy().to_lowercase();
            name.contains("-idx") && name.contains("-ubyte")
        })
    })
}

/// The CIFAR kind of a directory: CIFAR-10 when it holds `data_batch_1.bin`, CIFAR-100 (fine
/// labels) when it holds `train.bin`.
fn cifar_kind(dir: &Path) -> Option<CifarKind> {
    if dir.join("data_batch_1.bin").is_file() {
        Some(CifarKind::Cifar10)
    } else if dir.join("train.bin").is_file() {
        Some(CifarKind::Cifar100 { fine: true })
    } else {
        None
    }
}

fn load_cifar(section: &DataSection) -> Result<Dataset> {
    let dir = &section.path;
    no_target(section, "CIFAR images")?;
    if section.test_path.is_some() {
        return Err(invalid(
            "data.test_path",
            "a CIFAR directory holds its own test file; drop `test_path`",
        ));
    }
    let kind = cifar_kind(dir).ok_or_else(|| {
        invalid(
            "data.path",
            format!(
                "{} has neither data_batch_1.bin (CIFAR-10) nor train.bin (CIFAR-100); point \
                 `data.path` at the unpacked cifar-10-batches-bin or cifar-100-binary directory",
                dir.display()
            ),
        )
    })?;
    let train = CifarDataset::load(dir, kind, Split::Train).map_err(data_error(dir))?;
    let mut files = vec![data_file(dir, train.len())?];
    let test_file = match kind {
        CifarKind::Cifar10 => "test_batch.bin",
        CifarKind::Cifar100 { .. } => "test.bin",
    };
    let test = if dir.join(test_file).is_file() {
        let test = CifarDataset::load(dir, kind, Split::Test).map_err(data_error(dir))?;
        files.push(data_file(&dir.join(test_file), test.len())?);
        Some(Examples::Images(ImageSet::from(&test)))
    } else {
        None
    };
    Ok(Dataset {
        kind: DataKind::Images,
        format: DataFormat::Cifar,
        train: Examples::Images(ImageSet::from(&train)),
        test,
        files,
        text_column: None,
        skipped: Vec::new(),
    })
}

/// An image folder, or `train/` and `test/` image folders, or an image folder with a
/// `test_path` image folder beside it.
fn load_image_folder(section: &DataSection) -> Result<Dataset> {
    let dir = &section.path;
    no_target(section, "image folders")?;
    let (train_dir, test_dir) = match &section.test_path {
        Some(test) => (dir.clone(), Some(test.clone())),
        None if dir.join("train").is_dir() && dir.join("test").is_dir() => {
            (dir.join("train"), Some(dir.join("test")))
        }
        None => (dir.clone(), None),
    };
    let mut folder = ImageFolder::new().with_skip_corrupt(section.skip_corrupt);
    if let Some([h, w]) = section.image_size {
        folder = folder.with_size(h, w);
    }
    if let Some(color) = section.color {
        folder = folder.with_color(match color {
            ImageColor::Grey => ColorMode::Grey,
            ImageColor::Rgb => ColorMode::Rgb,
        });
    }
    let mut skipped = Vec::new();
    let mut read = |dir: &Path, folder: &ImageFolder| -> Result<(ImageSet, DataFile)> {
        let loaded = folder.load(dir).map_err(data_error(dir))?;
        skipped.extend(loaded.skipped);
        let file = DataFile {
            path: dir.display().to_string(),
            sha256: files_sha256(dir, &loaded.files)?,
            rows: loaded.images.len() as u64,
        };
        Ok((loaded.images, file))
    };
    let (train, file) = read(&train_dir, &folder)?;
    let mut files = vec![file];
    let test = match test_dir {
        Some(test_dir) => {
            // The test images take the training images' size and colour.
            let [c, h, w] = train.shape();
            let same = folder.clone().with_size(h, w).with_color(if c == 1 {
                ColorMode::Grey
            } else {
                ColorMode::Rgb
            });
            let (test, file) = read(&test_dir, &same)?;
            if test.classes() != train.classes() {
                return Err(invalid(
                    "data.test_path",
                    format!(
                        "{} has the classes {:?} but {} has {:?}; the test folder needs the \
                         same class sub-directories",
                        test_dir.display(),
                        test.classes(),
                        train_dir.display(),
                        train.classes()
                    ),
                ));
            }
            files.push(file);
            Some(Examples::Images(test))
        }
        None => None,
    };
    Ok(Dataset {
        kind: DataKind::Images,
        format: DataFormat::Images,
        train: Examples::Images(train),
        test,
        files,
        text_column: None,
        skipped,
    })
}

/// A data file's lineage entry.
pub fn data_file(path: &Path, rows: usize) -> Result<DataFile> {
    Ok(DataFile {
        path: path.display().to_string(),
        sha256: if path.is_dir() {
            directory_sha256(path)?
        } else {
            sha256_file(path).map_err(data_error(path))?
        },
        rows: rows as u64,
    })
}

/// The SHA-256 of a directory's data files (Parquet parts, CIFAR training batches): of the
/// lines `sha256  relative/path`, one per file the loader reads, in its order.
fn directory_sha256(dir: &Path) -> Result<String> {
    let files = match cifar_kind(dir) {
        Some(CifarKind::Cifar10) => (1..=5)
            .map(|i| dir.join(format!("data_batch_{i}.bin")))
            .collect(),
        Some(CifarKind::Cifar100 { .. }) => vec![dir.join("train.bin")],
        None => ParquetLoader::files(dir).map_err(data_error(dir))?,
    };
    files_sha256(dir, &files)
}

/// The SHA-256 of the lines `sha256  relative/path` of `files` under `dir`, in order.
fn files_sha256(dir: &Path, files: &[PathBuf]) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for file in files {
        let sum = sha256_file(file).map_err(data_error(file))?;
        let relative = file.strip_prefix(dir).unwrap_or(file);
        hasher.update(format!("{sum}  {}\n", relative.display()));
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

impl Dataset {
    /// The task the target asks for (`task` itself unless it is `auto`).
    pub fn task(&self, task: Task) -> Result<Task> {
        let Some(target) = self.train.target() else {
            return Err(invalid("data.target", "no target column"));
        };
        let task = resolve_task(&target, task).map_err(data_error(self.path()))?;
        if self.kind != DataKind::Table && task == Task::Regression {
            return Err(invalid(
                "data.task",
                "text and image data are classified; regression needs a table",
            ));
        }
        Ok(task)
    }

    /// The training data's path.
    pub fn path(&self) -> &Path {
        Path::new(&self.files[0].path)
    }

    /// Splits the rows: the test part (unless there is a test file), then the validation
    /// part carved from what is left. Classes are stratified where `split` says so.
    pub fn split(
        &self,
        split_kind: SplitKind,
        test_fraction: f64,
        valid_fraction: f64,
        task: Task,
        seed: u64,
    ) -> Result<Parts> {
        let n = self.train.rows();
        let codes = self.class_codes(task)?;
        let stratify = match split_kind {
            SplitKind::Stratified => {
                if codes.is_none() {
                    return Err(invalid(
                        "data.split",
                        "`stratified` needs a classification target; use `holdout`",
                    ));
                }
                true
            }
            SplitKind::Holdout => false,
            SplitKind::Auto | SplitKind::Kfold => codes.is_some(),
        };
        let (train, test) = if self.test.is_some() {
            ((0..n).collect(), Vec::new())
        } else {
            let parts = match (&codes, stratify) {
                (Some(codes), true) => split::stratified_holdout(codes, test_fraction, seed),
                _ => split::holdout(n, test_fraction, seed),
            }
            .map_err(|e| invalid("data.test_fraction", e.to_string()))?;
            (parts.train, parts.test)
        };
        let (train, valid) = carve(&train, codes.as_deref(), stratify, valid_fraction, seed)?;
        let parts = Parts {
            train,
            valid,
            test,
            test_is_separate: self.test.is_some(),
        };
        if parts.train.is_empty() {
            return Err(invalid(
                "data.test_fraction",
                format!("leaves no training rows of {n}; lower it or add data"),
            ));
        }
        if let Some(test) = &self.test
            && test.rows() == 0
        {
            return Err(invalid(
                "data.test_path",
                format!("{} has no rows to test on", self.files[1].path),
            ));
        }
        if !parts.test_is_separate && parts.test.is_empty() {
            return Err(invalid(
                "data.test_fraction",
                format!("leaves no test rows of {n}; raise it or add data"),
            ));
        }
        Ok(parts)
    }

    /// Class codes of every training example (`None` for regression).
    pub fn class_codes(&self, task: Task) -> Result<Option<Vec<u32>>> {
        if task == Task::Regression {
            return Ok(None);
        }
        let Some(target) = self.train.target() else {
            return Ok(None);
        };
        let (codes, _) = target.class_codes().map_err(data_error(self.path()))?;
        Ok(Some(codes))
    }

    /// The target encoder fitted on the training rows (classes from every row).
    pub fn target_encoder(&self, task: Task, train_rows: &[usize]) -> Result<TargetEncoder> {
        let Some(target) = self.train.target() else {
            return Err(invalid("data.target", "no target column"));
        };
        TargetEncoder::fit(&target, task, train_rows).map_err(data_error(self.path()))
    }
}

/// Splits `rows` into training and validation rows (stratified by `codes` when asked).
pub(crate) fn carve(
    rows: &[usize],
    codes: Option<&[u32]>,
    stratify: bool,
    fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>)> {
    if fraction <= 0.0 {
        return Ok((rows.to_vec(), Vec::new()));
    }
    // A different stream from the test split's.
    let seed = seed ^ 0x05ee_d0f7_a11d;
    let parts = match (codes, stratify) {
        (Some(codes), true) => {
            let sub: Vec<u32> = rows.iter().map(|&r| codes[r]).collect();
            split::stratified_holdout(&sub, fraction, seed)
        }
        _ => split::holdout(rows.len(), fraction, seed),
    }
    .map_err(|e| invalid("train.valid_fraction", e.to_string()))?;
    let pick = |idx: &[usize]| idx.iter().map(|&i| rows[i]).collect::<Vec<_>>();
    let (train, valid) = (pick(&parts.train), pick(&parts.test));
    if train.is_empty() || valid.is_empty() {
        return Err(invalid(
            "train.valid_fraction",
            format!(
                "{fraction} of {} training rows leaves an empty part; change it",
                rows.len()
            ),
        ));
    }
    Ok((train, valid))
}
