//! kiln-data's integration tests: one binary, one module per area.

mod cifar;
mod common;
mod csv;
mod datasets;
#[cfg(feature = "download")]
mod download;
mod idx;
mod image_folder;
#[cfg(feature = "parquet")]
mod parquet;
mod preprocess;
mod profile;
mod quality;
mod text;

/// Types users share across threads (data loaders, tuning workers) are `Send + Sync`.
#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    fn send<T: Send>() {}
    check::<kiln_data::Table>();
    check::<kiln_data::CsvLoader>();
    send::<kiln_data::CsvChunks>(); // an iterator over a reader: movable, not shared
    #[cfg(feature = "parquet")]
    {
        check::<kiln_data::ParquetLoader>();
        check::<kiln_data::ParquetWriter>();
        send::<kiln_data::ParquetChunks>();
    }
    check::<kiln_data::Preprocessor>();
    check::<kiln_data::Vectorizer>();
    check::<kiln_data::QualitySuite>();
    check::<kiln_data::QualityReport>();
    check::<kiln_data::TableProfile>();
    check::<kiln_data::datasets::Datasets>();
    check::<kiln_data::MnistDataset>();
    check::<kiln_data::ImageSet>();
    check::<kiln_data::ImageFolder>();
    check::<kiln_data::TextDataset>();
    check::<kiln_data::LabeledDataset>();
    check::<kiln_data::DataError>();
}
