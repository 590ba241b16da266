//! Kiln's data layer: loading, splitting, preprocessing, checking and profiling data. No
//! tensors live here; [`LabeledDataset`], [`MnistDataset`] and [`TextDataset`] implement
//! Burn's `Dataset` trait so Burn's `DataLoader` batches them.
//!
//! The main types and how they connect:
//!
//! - [`CsvLoader`] reads CSV files (plain or gzip) into a typed [`Table`] of [`Column`]s with
//!   an inferred or declared [`Schema`]; [`CsvLoader::chunks`] streams big files.
//! - [`ParquetLoader`] reads Parquet files and directories of part files, whole or in chunks,
//!   and [`ParquetWriter`] writes a table; [`Table::from_record_batch`] and
//!   [`Table::to_record_batch`] hand tables to and from Arrow (the `parquet` feature).
//! - [`IdxArray`] / [`MnistDataset`] read MNIST-family IDX files, [`CifarDataset`] the CIFAR
//!   binaries and [`ImageFolder`] a folder of PNG/JPEG images per class, each into an
//!   [`ImageSet`]; [`TextDataset`] reads `text,label` CSVs and [`VectorizerConfig`] fits
//!   bag-of-words / TF-IDF / hashing features.
//! - [`split`] gives seeded holdout and k-fold index splits, plain or stratified.
//! - [`PreprocessorConfig`] fits imputation, scaling and one-hot encoding on training rows into
//!   a serializable [`Preprocessor`] that turns any split into a [`Matrix`].
//! - [`QualitySuite`] runs declarative [`Check`]s into a [`QualityReport`]; [`TableProfile`]
//!   summarises columns in one mergeable pass.
//! - [`datasets`] loads the bundled datasets in one line, checksum-verified.
//!
//! ```no_run
//! use kiln_data::{LabeledDataset, PreprocessorConfig, Targets, datasets, split};
//!
//! let table = datasets::tabular("penguins")?;
//! let (codes, names) = table.target().expect("penguins has a label").class_codes()?;
//! let parts = split::stratified_holdout(&codes, 0.2, 0)?;
//! let (train, test) = (table.take(&parts.train), table.take(&parts.test));
//! let prep = PreprocessorConfig::default()
//!     .with_impute(kiln_data::Impute::Median)
//!     .fit(&train)?;
//! let targets = |rows: &[usize]| Targets::Classes {
//!     codes: rows.iter().map(|&r| codes[r]).collect(),
//!     names: names.clone(),
//! };
//! let train = LabeledDataset::new(prep.transform(&train)?, targets(&parts.train))?;
//! let test = LabeledDataset::new(prep.transform(&test)?, targets(&parts.test))?;
//! println!("{} train rows, {} features", train.features().rows(), train.features().cols());
//! # let _ = test;
//! # Ok::<(), kiln_data::DataError>(())
//! ```

#[cfg(feature = "parquet")]
pub mod arrow;
pub mod bundle;
mod checksum;
mod cifar;
mod column;
mod column_type;
mod csv;
pub mod datasets;
#[cfg(feature = "download")]
mod download;
mod error;
mod idx;
mod image_folder;
mod image_set;
mod labeled;
mod matrix;
#[cfg(feature = "parquet")]
mod parquet;
mod preprocess;
mod profile;
mod quality;
mod schema;
mod sketch;
mod source;
pub mod split;
mod target_encoder;
mod text;
mod vectorizer;

/// Burn's dataset trait, re-exported so users need no direct `burn-dataset` dependency.
pub use burn_dataset::Dataset;
pub use checksum::sha256_file;
pub use cifar::{CIFAR_IMAGE_BYTES, CifarDataset, CifarKind};
pub use column::{Column, ColumnData, Table};
pub use column_type::ColumnType;
pub use csv::{CsvChunks, CsvLoader, DEFAULT_MISSING};
pub use error::{DataError, Result};
pub use idx::{IdxArray, IdxData, MnistDataset, MnistItem};
pub use image_folder::{
    ColorMode, FolderImages, FolderLayout, ImageFolder, SkippedImage, is_image_folder,
};
pub use image_set::{ImageSet, Normalize};
pub use labeled::{LabeledDataset, LabeledItem, Target, Targets};
pub use matrix::{Matrix, SparseMatrix};
#[cfg(feature = "parquet")]
pub use parquet::{ParquetChunks, ParquetCompression, ParquetLoader, ParquetWriter};
pub use preprocess::{Impute, Preprocessor, PreprocessorConfig, Scaling, UnknownCategory};
pub use profile::{
    CategoricalProfile, ColumnProfile, Histogram, NumericProfile, NumericSummary, TableProfile,
    TextProfile,
};
pub use quality::{Check, CheckResult, FailingRow, QualityReport, QualitySuite};
pub use schema::{Field, Schema};
pub use sketch::QuantileSketch;
pub use target_encoder::{MAX_AUTO_CLASSES, TargetEncoder, Task, resolve_task};
pub use text::{TextDataset, TextItem};
pub use vectorizer::{Vectorizer, VectorizerConfig, Weighting};
