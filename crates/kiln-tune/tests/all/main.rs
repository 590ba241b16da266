//! kiln-tune's integration tests: one binary, one module per area.

#[cfg(all(feature = "postgres", feature = "sqlite"))]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
mod study;
