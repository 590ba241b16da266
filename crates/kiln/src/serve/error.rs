//! The server's errors: [`ServeError`] for what stops it starting or stopping, [`ApiError`]
//! for what a request gets back (a status and a JSON body naming what to fix).

use std::path::PathBuf;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// What stopped a server from starting, or went wrong while it shut down.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The bundle could not be loaded.
    #[error("loading the bundle: {0}")]
    Bundle(#[from] crate::pipeline::PipelineError),

    /// The device could not be used.
    #[error(transparent)]
    Device(#[from] crate::backend::DeviceError),

    /// A setting is out of range.
    #[error("`{field}`: {reason}")]
    Invalid {
        /// The setting.
        field: &'static str,
        /// Why, and what would be valid.
        reason: String,
    },

    /// The address could not be bound (in use, or not this machine's).
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// The monitor's log could not be written.
    #[error("monitor log {}: {source}", path.display())]
    Log {
        /// The log file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// The monitor failed to start or to close its last window.
    #[error("monitor: {0}")]
    Monitor(#[from] kiln_monitor::MonitorError),

    /// The server's runtime or a thread of it failed.
    #[error("server runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// `Result` with [`ServeError`].
pub type Result<T, E = ServeError> = std::result::Result<T, E>;

/// A request's error: its HTTP status and a JSON body in MLflow's shape
/// (`{"error_code": …, "message": …}`), plus where the problem is when known.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    status: StatusCode,
    error_code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    row: Option<usize>,
}

impl ApiError {
    fn new(status: StatusCode, error_code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            error_code,
            message: message.into(),
            field: None,
            column: None,
            row: None,
        }
    }

    /// 400: the body does not say what the server needs.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    /// 400 about a field of the body.
    pub(crate) fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::bad_request(message);
        e.field = Some(field.into());
        e
    }

    /// 400 about a value of a column (and a row, when one is at fault).
    pub(crate) fn column(
        column: impl Into<String>,
        row: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        let mut e = Self::bad_request(message);
        e.column = Some(column.into());
        e.row = row;
        e
    }

    /// 401, revealing nothing else.
    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "a valid `Authorization: Bearer` token is required",
        )
    }

    /// 404.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", message)
    }

    /// 405.
    pub(crate) fn method(message: impl Into<String>) -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "BAD_REQUEST", message)
    }

    /// 413.
    pub(crate) fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("the body is over the server's limit of {limit} bytes; send fewer rows"),
        )
    }

    /// 415.
    pub(crate) fn media_type(found: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_REQUEST",
            format!("content type `{found}` is not served; send `application/json` or `text/csv`"),
        )
    }

    /// 500: the model failed on rows that passed every check (a bug, not the client's).
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", message)
    }

    /// 503: the server is shutting down.
    pub(crate) fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            "the server is shutting down",
        )
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(&self)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// A table's error as a request's: which column and row, and what was expected.
impl From<kiln_data::DataError> for ApiError {
    fn from(e: kiln_data::DataError) -> Self {
        use kiln_data::DataError as D;
        let message = e.to_string();
        match e {
            D::MissingValue { column, row } => Self::column(column, Some(row), message),
            D::NonFinite { column, row, .. } => Self::column(column, Some(row), message),
            D::UnknownCategory { column, row, .. } => Self::column(column, Some(row), message),
            _ => Self::bad_request(message),
        }
    }
}
