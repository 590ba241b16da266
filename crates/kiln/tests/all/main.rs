//! kiln's integration tests: one binary, one module per area.

#[cfg(feature = "cli")]
mod cli;
mod common;
mod dataloader;
mod devices;
mod images;
#[path = "../../../kiln-train/tests/all/iris.rs"]
mod iris;
mod pipeline;
mod send_sync;
#[cfg(feature = "serve")]
mod serve;
mod tracking;
mod tuning;
