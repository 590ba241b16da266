//! The pipeline's error type.

use std::path::{Path, PathBuf};

/// What stopped a pipeline. Each message names the file, key or column and what to do.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The config is malformed or has a key that does not exist.
    #[error("{}{}{message}", file.as_ref().map(|f| format!("{}: ", f.display())).unwrap_or_default(), location.as_ref().map(|l| format!("{l}: ")).unwrap_or_default())]
    Config {
        /// The config file, when read from one.
        file: Option<PathBuf>,
        /// Where in it.
        location: Option<String>,
        /// What is wrong (serde's message names the key).
        message: String,
    },

    /// A setting is out of range or contradicts another.
    #[error("`{key}`: {reason}")]
    Invalid {
        /// The dotted key.
        key: String,
        /// Why, and what would be valid.
        reason: String,
    },

    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// Reading, checking or transforming the data failed.
    #[error("{}", with_path(path, source))]
    Data {
        /// The data file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Box<kiln_data::DataError>,
    },

    /// The data failed its quality checks under `validate.policy = "fail"`.
    #[error(
        "{}: {failed} quality check(s) failed:\n{report}\nfix the data, or set \
         `validate.policy = \"warn\"` to train anyway",
        path.display()
    )]
    Quality {
        /// The data file.
        path: PathBuf,
        /// How many checks failed.
        failed: usize,
        /// The report.
        report: Box<kiln_data::QualityReport>,
    },

    /// Training, evaluating or bundling failed.
    #[error(transparent)]
    Train(#[from] kiln_train::TrainError),

    /// The search failed.
    #[error("tune: {0}")]
    Tune(#[from] kiln_tune::TuneError),

    /// A bundle could not be read.
    #[error("bundle {}: {source}", path.display())]
    Bundle {
        /// The bundle directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Box<kiln_data::bundle::BundleError>,
    },

    /// Monitoring failed.
    #[error(transparent)]
    Monitor(#[from] kiln_monitor::MonitorError),

    /// The report could not be written.
    #[error(transparent)]
    Track(#[from] kiln_track::TrackError),

    /// The device is not available.
    #[error(transparent)]
    Device(#[from] crate::backend::DeviceError),
}

/// `Result` with [`PipelineError`].
pub type Result<T, E = PipelineError> = std::result::Result<T, E>;

/// An error and its causes on one line, each cause once: Kiln's errors already name their
/// cause in their message, so a cause is added only when the line does not hold it yet. What
/// `kiln` and the examples print.
pub fn error_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    for cause in std::iter::successors(error.source(), |e| e.source()) {
        let cause = cause.to_string();
        if !line.contains(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line.replace('\n', " ")
}

/// `path: message`, unless the message names the file already.
fn with_path(path: &Path, source: &kiln_data::DataError) -> String {
    let (path, message) = (path.display().to_string(), source.to_string());
    if message.contains(&path) {
        message
    } else {
        format!("{path}: {message}")
    }
}

pub(crate) fn invalid(key: &str, reason: impl Into<String>) -> PipelineError {
    PipelineError::Invalid {
        key: key.to_owned(),
        reason: reason.into(),
    }
}

pub(crate) fn data_error(path: &Path) -> impl FnOnce(kiln_data::DataError) -> PipelineError {
    let path = path.to_owned();
    move |source| PipelineError::Data {
        path,
        source: Box::new(source),
    }
}

impl PipelineError {
    /// The same config error, naming the file it came from.
    pub(crate) fn in_file(self, path: &Path) -> Self {
        match self {
            Self::Config {
                location, message, ..
            } => Self::Config {
                file: Some(path.to_owned()),
                location,
                message,
            },
            other => other,
        }
    }
}
