//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

/// A fixture in `tests/data/` (made by `tests/data/make_fixtures.py`).
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The repository's `datasets/` directory.
pub fn repo_datasets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets")
}
