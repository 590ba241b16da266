//! The error type of `kiln-models`.

/// What is wrong with a model configuration.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A configuration value is out of range or inconsistent.
    #[error("invalid `{field}`: {reason}")]
    InvalidConfig {
        /// The offending field.
        field: String,
        /// Why it is invalid and what would be valid.
        reason: String,
    },
}

/// `Result` with [`ModelError`].
pub type Result<T, E = ModelError> = std::result::Result<T, E>;

/// Checks that a size is at least 1.
pub(crate) fn positive(field: &str, value: usize) -> Result<()> {
    if value == 0 {
        return Err(ModelError::InvalidConfig {
            field: field.into(),
            reason: "must be at least 1".into(),
        });
    }
    Ok(())
}

/// Checks that a dropout probability is in `[0, 1)`.
pub(crate) fn probability(field: &str, value: f64) -> Result<()> {
    if !(0.0..1.0).contains(&value) {
        return Err(ModelError::InvalidConfig {
            field: field.into(),
            reason: format!("{value} is not in [0, 1)"),
        });
    }
    Ok(())
}
