//! CSV reading: schema inference, parallel block parsing and streaming chunks.
//!
//! - `loader`: [`CsvLoader`], the settings and the whole-file read;
//! - `chunks`: [`CsvChunks`], a file in tables of bounded size;
//! - `blocks`: cutting a file into blocks of whole records and parsing them;
//! - `parse`: field parsers, type guesses and column builders.

mod blocks;
mod chunks;
mod loader;
mod parse;

pub use chunks::CsvChunks;
pub use loader::{CsvLoader, DEFAULT_MISSING};
