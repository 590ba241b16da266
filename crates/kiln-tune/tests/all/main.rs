//! kiln-tune's integration tests: one binary, one module per area.

#[cfg(feature = "sqlite")]
mod sqlite;
mod study;
