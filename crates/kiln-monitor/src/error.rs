//! The error type of `kiln-monitor`.

use std::path::PathBuf;

/// What went wrong while computing drift, reading a bundle or observing a stream.
///
/// Errors from user data name the column (or argument) and say what to do about it.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// A statistic was given no values.
    #[error("{what} is empty; a drift statistic needs at least one value on each side")]
    Empty {
        /// Which input (e.g. "reference sample", "column `age` in current data").
        what: String,
    },

    /// A value is NaN or infinite where only finite values make sense.
    #[error(
        "{what} has a non-finite value ({value}) at position {index}; \
         drop or impute it before computing drift"
    )]
    NonFinite {
        /// Which input.
        what: String,
        /// 0-based position of the value.
        index: usize,
        /// The value.
        value: f64,
    },

    /// Two inputs that must line up do not.
    #[error(
        "{what}: lengths differ ({left} vs {right}); pass one entry per row or bin on both sides"
    )]
    LengthMismatch {
        /// Which inputs.
        what: String,
        /// Length of the first.
        left: usize,
        /// Length of the second.
        right: usize,
    },

    /// A setting is out of range.
    #[error("invalid setting `{field}`: {reason}")]
    InvalidConfig {
        /// The setting.
        field: String,
        /// What is wrong and what is allowed.
        reason: String,
    },

    /// A column is missing from the current data, or has another type than its reference.
    #[error("column `{column}`: {reason}")]
    Column {
        /// The column name.
        column: String,
        /// What is wrong.
        reason: String,
    },

    /// A model bundle is missing a part the monitor needs, or a part is corrupt.
    #[error("bundle {}: {source}", path.display())]
    Bundle {
        /// The bundle directory.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: Box<kiln_data::bundle::BundleError>,
    },

    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// A JSON file is malformed.
    #[error("{}: malformed JSON: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },

    /// `kiln-data` failed (reading a CSV, a profile).
    #[error(transparent)]
    Data(#[from] kiln_data::DataError),
}

/// `Result` with [`MonitorError`].
pub type Result<T, E = MonitorError> = std::result::Result<T, E>;

pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> MonitorError {
    MonitorError::InvalidConfig {
        field: field.to_owned(),
        reason: reason.into(),
    }
}
