//! [`ParquetWriter`]: a [`Table`] to a Parquet file.

use std::fs::{self, File};
use std::path::Path;

use ::parquet::arrow::ArrowWriter;
use ::parquet::basic::{Compression, GzipLevel, ZstdLevel};
use ::parquet::file::properties::WriterProperties;

use crate::column::Table;
use crate::error::{DataError, Result};

/// The codec a [`ParquetWriter`] compresses pages with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParquetCompression {
    /// No compression.
    Uncompressed,
    /// Snappy, pandas' and Spark's default.
    #[default]
    Snappy,
    /// Zstandard at its default level (3).
    Zstd,
    /// LZ4 (the `LZ4_RAW` codec).
    Lz4,
    /// Gzip at its default level (6).
    Gzip,
}

impl ParquetCompression {
    fn codec(self) -> Compression {
        match self {
            Self::Uncompressed => Compression::UNCOMPRESSED,
            Self::Snappy => Compression::SNAPPY,
            Self::Zstd => Compression::ZSTD(ZstdLevel::default()),
            Self::Lz4 => Compression::LZ4_RAW,
            Self::Gzip => Compression::GZIP(GzipLevel::default()),
        }
    }
}

/// Writes a [`Table`] as one Parquet file (types as `kiln_data::arrow` documents; the target
/// column's name is kept in the file's metadata).
///
/// The file appears whole or not at all: it is written beside the destination and renamed into
/// place when complete.
///
/// ```no_run
/// use kiln_data::{ParquetCompression, ParquetWriter, datasets};
///
/// let table = datasets::tabular("penguins")?;
/// ParquetWriter::new()
///     .with_compression(ParquetCompression::Zstd)
///     .write(&table, "penguins.parquet")?;
/// # Ok::<(), kiln_data::DataError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ParquetWriter {
    compression: ParquetCompression,
    row_group_rows: usize,
}

impl Default for ParquetWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl ParquetWriter {
    /// Snappy compression, row groups of up to 1,048,576 rows.
    pub fn new() -> Self {
        Self {
            compression: ParquetCompression::default(),
            row_group_rows: 1 << 20,
        }
    }

    /// Compresses pages with `compression`.
    pub fn with_compression(mut self, compression: ParquetCompression) -> Self {
        self.compression = compression;
        self
    }

    /// Puts at most `rows` rows in each row group (at least 1).
    pub fn with_row_group_rows(mut self, rows: usize) -> Self {
        self.row_group_rows = rows.max(1);
        self
    }

    /// Writes `table` to `path`, replacing any file there.
    pub fn write(&self, table: &Table, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let batch = table.to_record_batch()?;
        let props = WriterProperties::builder()
            .set_compression(self.compression.codec())
            .set_max_row_group_row_count(Some(self.row_group_rows))
            .build();
        let mut partial = path.as_os_str().to_owned();
        partial.push(format!(".part{}", std::process::id()));
        let partial = std::path::PathBuf::from(partial);
        let parquet_error = |source| DataError::Parquet {
            path: path.to_owned(),
            action: "writing",
            source,
        };
        let result = File::create(&partial)
            .map_err(|e| DataError::io(&partial, e))
            .and_then(|file| {
                let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))
                    .map_err(parquet_error)?;
                writer.write(&batch).map_err(parquet_error)?;
                writer.close().map_err(parquet_error)?;
                fs::rename(&partial, path).map_err(|e| DataError::io(path, e))
            });
        if result.is_err() {
            let _ = fs::remove_file(&partial);
        }
        result
    }
}
