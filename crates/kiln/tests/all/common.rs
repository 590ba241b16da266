//! Helpers shared by kiln's integration tests.

use std::path::PathBuf;

use kiln::data::datasets::Datasets;

/// A file of the bundled datasets.
pub fn bundled(file: &str) -> PathBuf {
    Datasets::locate().path(file).unwrap()
}

/// The tests that train take turns: dropout draws from Burn's process-wide generator, and so
/// does building a model (also when a bundle is loaded), so a test training beside another
/// would change its dropout masks and the pipeline's reproducibility test would see it. One run
/// per process, as `kiln train` does, is bit-reproducible.
pub fn turn() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
