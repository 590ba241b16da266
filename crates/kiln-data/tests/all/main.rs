//! kiln-data's integration tests: one binary, one module per area.

mod common;
mod csv;
mod datasets;
#[cfg(feature = "download")]
mod download;
mod idx;
mod preprocess;
mod profile;
mod quality;
mod text;
