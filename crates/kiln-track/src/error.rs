//! The error type of `kiln-track`.

use std::path::PathBuf;

/// What went wrong while writing or reading runs.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum TrackError {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// A stored file is malformed.
    #[error("{}: malformed JSON: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },

    /// The tracking server could not be reached.
    #[error("{url}: {source}; is the server running and the URL right?")]
    Http {
        /// The request URL.
        url: String,
        /// The cause.
        #[source]
        source: Box<ureq::Error>,
    },

    /// The tracking server refused a request.
    #[error("{url}: HTTP {status}: {message}")]
    Server {
        /// The request URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The server's error code and message.
        message: String,
    },

    /// A name or key cannot be stored.
    #[error("invalid {what} `{name}`: {reason}")]
    InvalidName {
        /// What it names (experiment, run, metric, artifact).
        what: &'static str,
        /// The name.
        name: String,
        /// What is allowed.
        reason: String,
    },

    /// A run or experiment does not exist.
    #[error("no {what} `{id}`{hint}")]
    NotFound {
        /// Run or experiment.
        what: &'static str,
        /// Its id or name.
        id: String,
        /// Where to look instead.
        hint: String,
    },
}

/// `Result` with [`TrackError`].
pub type Result<T, E = TrackError> = std::result::Result<T, E>;

pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> TrackError {
    let path = path.into();
    move |source| TrackError::Io { path, source }
}
