//! kiln-monitor's integration tests: one binary, one module per area.

mod monitor;
mod stats;
