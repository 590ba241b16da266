//! kiln-tune's integration tests: one binary, one module per area.

mod changed;
mod multi;
#[cfg(all(feature = "postgres", feature = "sqlite"))]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
mod study;
