//! kiln-track's integration tests: one binary, one module per area.

mod local;
mod mlflow;
mod report;
