//! kiln-train's integration tests: one binary, one module per area.

mod bundle;
mod iris;
mod trainer;
