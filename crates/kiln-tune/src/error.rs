//! The error type of `kiln-tune`.

/// What went wrong in a study.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    /// A distribution, space or setting is invalid.
    #[error("invalid `{field}`: {reason}")]
    Invalid {
        /// The offending parameter or setting.
        field: String,
        /// Why, and what would be valid.
        reason: String,
    },
    /// A parameter was suggested twice in one trial with different distributions.
    #[error(
        "parameter `{name}` was suggested from {first} and then from {second} in one trial; \
         use one distribution per name"
    )]
    ConflictingDistribution {
        /// The parameter.
        name: String,
        /// The first distribution.
        first: String,
        /// The second distribution.
        second: String,
    },
    /// The study has no completed trial yet.
    #[error("the study has no completed trial yet")]
    NoCompletedTrial,
    /// The trial was pruned; return this from an objective to mark it pruned.
    #[error("trial pruned at step {step}")]
    Pruned {
        /// The step of the last reported value.
        step: u64,
    },
    /// The storage backend failed (a database error, a record it could not decode).
    #[error("storage: {context}: {source}")]
    Storage {
        /// What the storage was doing.
        context: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The storage holds no such trial, or a trial in another state than the call needs.
    #[error("storage: {0}")]
    TrialState(String),
    /// A search space file could not be read.
    #[error("search space {path}: {reason}")]
    SpaceFile {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Writing a summary failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// `Result` with [`TuneError`].
pub type Result<T, E = TuneError> = std::result::Result<T, E>;

pub(crate) fn storage(
    context: impl Into<String>,
    source: impl std::error::Error + Send + Sync + 'static,
) -> TuneError {
    TuneError::Storage {
        context: context.into(),
        source: Box::new(source),
    }
}

pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> TuneError {
    TuneError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}
