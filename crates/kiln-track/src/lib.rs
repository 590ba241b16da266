//! Kiln's experiment tracking: runs with params, metrics, tags and artifacts, a local store,
//! an MLflow REST client, and self-contained HTML reports.
//!
//! Status: planned (tracking issue). This crate never depends on a Burn backend.
