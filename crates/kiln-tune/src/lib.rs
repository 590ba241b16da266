//! Kiln's hyperparameter search: define-by-run trials, samplers (random, grid, quasi-random,
//! TPE), pruners (median, percentile, ASHA, Hyperband), and resumable, parallel studies.
//!
//! Status: planned (tuning issue). This crate never depends on a Burn backend.
