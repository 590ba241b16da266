//! Kiln's monitoring: drift statistics (KS, chi-squared, PSI, Wasserstein, Jensen–Shannon)
//! between training data and live data, monitors over prediction streams, fairness metrics.
//!
//! Status: planned (monitoring issue). This crate never depends on a Burn backend; it will
//! build on `kiln-data`'s column profiles.
