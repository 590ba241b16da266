//! Parquet files in and out (the `parquet` feature), through Arrow.
//!
//! - `reader`: [`ParquetLoader`] reads a file or a directory of part files (Spark, DuckDB and
//!   Polars write those) into a [`Table`](crate::Table), whole or in bounded chunks
//!   ([`ParquetChunks`]), with a column projection;
//! - `writer`: [`ParquetWriter`] writes a table.
//!
//! Types map as the `kiln_data::arrow` conversions document (see [`Table::from_record_batch`]).
//!
//! [`Table::from_record_batch`]: crate::Table::from_record_batch

mod reader;
mod writer;

pub use reader::{ParquetChunks, ParquetLoader};
pub use writer::{ParquetCompression, ParquetWriter};
