//! The error type of `kiln-train`.

/// What went wrong while training or evaluating.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A training setting is out of range.
    #[error("invalid `{field}`: {reason}")]
    InvalidConfig {
        /// The offending field.
        field: String,
        /// Why it is invalid and what would be valid.
        reason: String,
    },

    /// The loss became NaN or infinite.
    #[error(
        "loss is {value} at epoch {epoch}, batch {batch}; lower the learning rate, clip \
         gradients, or check the inputs for extreme values"
    )]
    NonFiniteLoss {
        /// 1-based epoch.
        epoch: usize,
        /// 0-based batch within the epoch.
        batch: usize,
        /// The loss value.
        value: f32,
    },

    /// A checkpoint could not be written or read back.
    #[error("checkpoint {}: {source}", path.display())]
    Checkpoint {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// Resuming needs Burn's default device, which is compiled in but unusable here.
    #[error(
        "checkpoint {}: Burn loads the saved optimizer state on its default device, {default}, \
         which is unusable here ({source}); set BURN_DEVICE to the device you train on (e.g. \
         `BURN_DEVICE=flex`) and resume again",
        path.display()
    )]
    DefaultDevice {
        /// The optimizer state file.
        path: std::path::PathBuf,
        /// Burn's default device, as Burn prints it ("?" when it could not be made).
        default: String,
        /// What the backend said.
        #[source]
        source: crate::device::DeviceFailure,
    },

    /// A model bundle could not be written or read.
    #[error("bundle {}: {source}", path.display())]
    Bundle {
        /// The bundle directory.
        path: std::path::PathBuf,
        /// What went wrong.
        #[source]
        source: Box<kiln_data::bundle::BundleError>,
    },

    /// Feature rows are not as wide as the model's input.
    #[error("rows of {found} values; this model reads {expected} per row")]
    InputWidth {
        /// The width the model reads.
        expected: usize,
        /// The width given.
        found: usize,
    },

    /// The backend returned something unexpected.
    #[error("backend: {0}")]
    Backend(String),

    /// The data does not fit the model or the task.
    #[error("data: {0}")]
    Data(#[from] kiln_data::DataError),

    /// A model configuration is invalid.
    #[error("model: {0}")]
    Model(#[from] kiln_models::ModelError),
}

/// `Result` with [`TrainError`].
pub type Result<T, E = TrainError> = std::result::Result<T, E>;

pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> TrainError {
    TrainError::InvalidConfig {
        field: field.into(),
        reason: reason.into(),
    }
}
