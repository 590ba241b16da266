//! The error type of `kiln-data`.

use std::io;
use std::path::PathBuf;

use crate::column_type::ColumnType;

/// What went wrong while loading, checking or transforming data.
///
/// Every variant that comes from user data names the file (or stream), and where it can the
/// line, the column and the offending text, plus what to do about it.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be opened, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },

    /// The CSV has no header row at all.
    #[error("{file}: the file is empty; a CSV needs a header row naming its columns")]
    EmptyFile {
        /// The file or stream name.
        file: String,
    },

    /// Two header fields have the same name.
    #[error(
        "{file}:1: duplicate column name `{name}` (columns {first} and {second}); rename one of them"
    )]
    DuplicateHeader {
        /// The file or stream name.
        file: String,
        /// The repeated name.
        name: String,
        /// 1-based index of the first occurrence.
        first: usize,
        /// 1-based index of the second occurrence.
        second: usize,
    },

    /// A row has more or fewer fields than the header.
    #[error(
        "{file}:{line}: row has {found} fields but the header has {expected}; \
         check for an unquoted delimiter or a missing field"
    )]
    RaggedRow {
        /// The file or stream name.
        file: String,
        /// 1-based line where the record starts.
        line: u64,
        /// Fields in the header.
        expected: usize,
        /// Fields in this row.
        found: usize,
    },

    /// A value does not parse as its column's declared type.
    #[error(
        "{file}:{line}: column `{column}`: cannot read `{text}` as {expected}; \
         fix the value, mark it missing, or declare the column with another type"
    )]
    Parse {
        /// The file or stream name.
        file: String,
        /// 1-based line where the record starts.
        line: u64,
        /// The column name.
        column: String,
        /// The offending text (truncated to 80 characters).
        text: String,
        /// The type the column was declared or inferred as.
        expected: ColumnType,
    },

    /// A field is not valid UTF-8.
    #[error(
        "{file}:{line}: column `{column}`: invalid UTF-8 ({detail}); re-encode the file as UTF-8"
    )]
    InvalidUtf8 {
        /// The file or stream name.
        file: String,
        /// 1-based line where the record starts.
        line: u64,
        /// The column name (or `header`).
        column: String,
        /// What the decoder said.
        detail: String,
    },

    /// An IDX file is malformed: bad magic, rank, dimensions, or length.
    #[error("{file}: not a valid IDX file: {reason}")]
    Idx {
        /// The file or stream name.
        file: String,
        /// What is wrong.
        reason: String,
    },

    /// A CIFAR binary file (or its class-names file) is malformed.
    #[error("{file}: not a valid CIFAR file: {reason}")]
    Cifar {
        /// The file or stream name.
        file: String,
        /// What is wrong.
        reason: String,
    },

    /// An image file could not be decoded (corrupt, truncated, or not PNG/JPEG).
    #[error("{}: cannot decode the image: {source}; fix or remove the file, or skip corrupt images", path.display())]
    Image {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        #[source]
        source: image::ImageError,
    },

    /// An image folder's layout or contents do not fit (no classes, an empty class, images of
    /// another size).
    #[error("{}: {reason}", path.display())]
    ImageFolder {
        /// The directory or file.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },

    /// A named column is not in the table.
    #[error("no column `{column}`; the columns are: {available}")]
    UnknownColumn {
        /// The name asked for.
        column: String,
        /// The names the table has, comma separated.
        available: String,
    },

    /// A column has the wrong type for an operation.
    #[error("column `{column}` is {found} but {operation} needs {needed}")]
    ColumnType {
        /// The column name.
        column: String,
        /// Its type.
        found: ColumnType,
        /// What was attempted.
        operation: String,
        /// What would have worked.
        needed: String,
    },

    /// A value is missing where the operation needs one.
    #[error(
        "column `{column}`, row {row}: value is missing; impute it (see `Impute`) or drop the row"
    )]
    MissingValue {
        /// The column name.
        column: String,
        /// 0-based row index.
        row: usize,
    },

    /// A numeric value is NaN or infinite.
    #[error("column `{column}`, row {row}: value {value} is not finite; fix or drop the row")]
    NonFinite {
        /// The column name.
        column: String,
        /// 0-based row index.
        row: usize,
        /// The value.
        value: f64,
    },

    /// A category was not seen when the encoder was fitted.
    #[error(
        "column `{column}`, row {row}: category `{value}` was not seen during fit; \
         refit, or set `UnknownCategory::Ignore` to encode it as all zeros"
    )]
    UnknownCategory {
        /// The column name.
        column: String,
        /// 0-based row index.
        row: usize,
        /// The unseen value.
        value: String,
    },

    /// A dataset index past the end.
    #[error("index {index} is out of range for a dataset of {len} items")]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// The dataset length.
        len: usize,
    },

    /// A configuration value is out of range or inconsistent.
    #[error("invalid `{field}`: {reason}")]
    InvalidConfig {
        /// The offending field.
        field: String,
        /// Why it is invalid and what would be valid.
        reason: String,
    },

    /// A JSON document could not be read or written.
    #[error("{context}: {source}")]
    Json {
        /// What was being (de)serialized.
        context: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },

    /// A TOML document could not be read.
    #[error("{context}: {source}")]
    Toml {
        /// What was being read.
        context: String,
        /// The cause.
        #[source]
        source: toml::de::Error,
    },

    /// A bundled dataset file does not have the expected checksum.
    #[error(
        "{}: {algorithm} is {actual}, expected {expected}; the file is corrupt or was changed — \
         restore it from the repository (or delete it to download again)",
        path.display()
    )]
    Checksum {
        /// The file.
        path: PathBuf,
        /// `SHA-256` (Kiln's SHA256SUMS) or `MD5` (a publisher's checksum).
        algorithm: &'static str,
        /// The expected checksum.
        expected: String,
        /// The checksum of the file.
        actual: String,
    },

    /// A bundled dataset could not be found anywhere.
    #[error("dataset file `{file}` not found; looked in: {searched}. {hint}")]
    DatasetNotFound {
        /// Path relative to the datasets directory.
        file: String,
        /// Directories searched, in order.
        searched: String,
        /// What to do.
        hint: String,
    },

    /// No bundled dataset has this name.
    #[error("no bundled dataset `{name}`; the bundled ones are: {available}")]
    UnknownDataset {
        /// The name asked for.
        name: String,
        /// The bundled names.
        available: String,
    },

    /// A Parquet file could not be read or written: not Parquet, truncated, or a codec this
    /// build lacks.
    #[cfg(feature = "parquet")]
    #[error(
        "{}: {action} Parquet failed: {source}; check that the file is a complete Parquet file \
         (written with snappy, zstd, lz4, gzip or no compression)",
        path.display()
    )]
    Parquet {
        /// The file.
        path: PathBuf,
        /// `reading` or `writing`.
        action: &'static str,
        /// The cause.
        #[source]
        source: parquet::errors::ParquetError,
    },

    /// Arrow data could not be converted.
    #[cfg(feature = "parquet")]
    #[error("{context}: {source}")]
    Arrow {
        /// What was being converted (file and column where known).
        context: String,
        /// The cause.
        #[source]
        source: arrow_schema::ArrowError,
    },

    /// A column has a type Kiln's tables cannot hold (nested lists, structs, binary...).
    #[error(
        "{file}: column `{column}` has type {found}, which Kiln cannot load as a table column; \
         {hint}"
    )]
    UnsupportedType {
        /// The file or stream name.
        file: String,
        /// The column name.
        column: String,
        /// The type found.
        found: String,
        /// What to do.
        hint: String,
    },

    /// A value cannot be held by its Kiln column type (e.g. an unsigned 64-bit integer past
    /// `i64::MAX`).
    #[error("{file}: column `{column}`, row {row}: {reason}")]
    ValueOutOfRange {
        /// The file or stream name.
        file: String,
        /// The column name.
        column: String,
        /// 0-based row index within the file.
        row: usize,
        /// What is wrong and what to do.
        reason: String,
    },

    /// Files that should share a schema do not (e.g. the part files of one Parquet dataset).
    #[error("{file}: {reason}")]
    SchemaMismatch {
        /// The file that differs.
        file: String,
        /// How it differs from the first file.
        reason: String,
    },

    /// Downloading a dataset file failed.
    #[cfg(feature = "download")]
    #[error("download of {url} failed: {source}")]
    Download {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: Box<ureq::Error>,
    },
}

/// `Result` with [`DataError`].
pub type Result<T, E = DataError> = std::result::Result<T, E>;

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// The error Burn's `Dataset::get` returns for an index past the end.
pub(crate) fn out_of_range(index: usize, len: usize) -> burn_dataset::DatasetError {
    burn_dataset::DatasetError::new(DataError::IndexOutOfRange { index, len })
}

/// Shortens user text for error messages.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    }
}
