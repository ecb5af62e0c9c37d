//! One error type for every handler, answered as Zuul's JSON error:
//! `{"error": "<kind>", "description": "<what went wrong>"}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use super::auth::AuthError;
use crate::store::StoreError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The tenant is not in the config.
    #[error("Unknown tenant {0}")]
    UnknownTenant(String),
    /// No build with that uuid in the tenant.
    #[error("Build {uuid} not found in tenant {tenant}")]
    UnknownBuild {
        /// Tenant asked.
        tenant: String,
        /// Build uuid asked.
        uuid: String,
    },
    /// No buildset with that uuid in the tenant.
    #[error("Buildset {uuid} not found in tenant {tenant}")]
    UnknownBuildset {
        /// Tenant asked.
        tenant: String,
        /// Buildset uuid asked.
        uuid: String,
    },
    /// The build left no such log file.
    #[error("Log file {path} of build {uuid} not found")]
    UnknownLog {
        /// Build uuid.
        uuid: String,
        /// Path asked, relative to the build's log folder.
        path: String,
    },
    /// A log path that would leave the build's log folder.
    #[error("Bad log path {0}: it must stay inside the build's log folder")]
    BadLogPath(String),
    /// The tenant's layout has no such pipeline, project or job.
    #[error("Unknown {what} {name} in tenant {tenant}")]
    UnknownConfigObject {
        /// `pipeline`, `project` or `job`.
        what: &'static str,
        /// Name asked.
        name: String,
        /// Tenant asked.
        tenant: String,
    },
    /// The layout holds the object but cannot freeze its job graph.
    #[error("{0}")]
    Freeze(String),
    /// A project's key pair could not be read or made.
    #[error("{0}")]
    Key(String),
    /// No route for this URL.
    #[error("Nothing at {0}")]
    NoRoute(String),
    /// A query parameter has a bad name or value.
    #[error("Bad query: {0}")]
    BadFilter(String),
    /// No build with that uuid in any tenant.
    #[error("Build {0} not found")]
    NoSuchBuild(String),
    /// No token, a bad one, or one that may not read the tenant.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The build history could not be read.
    #[error("The build history could not be read: {0}")]
    Store(#[source] StoreError),
    /// A log folder could not be read.
    #[error("Log folder {path} could not be read: {source}")]
    Io {
        /// The folder or file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl WebError {
    /// A stable name of the error's kind, as Zuul names its errors.
    pub fn kind(&self) -> &'static str {
        match self {
            WebError::UnknownTenant(_) => "UnknownTenant",
            WebError::UnknownBuild { .. } | WebError::NoSuchBuild(_) => "UnknownBuild",
            WebError::UnknownBuildset { .. } => "UnknownBuildset",
            WebError::UnknownLog { .. } => "UnknownLog",
            WebError::BadLogPath(_) => "BadLogPath",
            WebError::UnknownConfigObject { what, .. } => match *what {
                "pipeline" => "UnknownPipeline",
                "project" => "UnknownProject",
                _ => "UnknownJob",
            },
            WebError::Freeze(_) => "ConfigError",
            WebError::Key(_) => "KeyError",
            WebError::NoRoute(_) => "NotFound",
            WebError::BadFilter(_) => "BadRequest",
            WebError::Auth(e) => e.kind.name(),
            WebError::Store(_) => "StoreError",
            WebError::Io { .. } => "IOError",
        }
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadFilter(why) => WebError::BadFilter(why),
            other => WebError::Store(other),
        }
    }
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::UnknownTenant(_)
            | WebError::UnknownBuild { .. }
            | WebError::NoSuchBuild(_)
            | WebError::UnknownBuildset { .. }
            | WebError::UnknownLog { .. }
            | WebError::UnknownConfigObject { .. }
            | WebError::NoRoute(_) => StatusCode::NOT_FOUND,
            WebError::BadLogPath(_) | WebError::BadFilter(_) | WebError::Freeze(_) => {
                StatusCode::BAD_REQUEST
            }
            WebError::Auth(e) => e.status_code(),
            WebError::Store(_) | WebError::Io { .. } | WebError::Key(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        // A refusal carries its challenge header, which only the auth error writes.
        if let WebError::Auth(e) = self {
            return e.error_response();
        }
        let status = self.status_code();
        // Server faults are logged here, once; a client's mistake is not ours to log.
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        HttpResponse::build(status)
            .insert_header(("Access-Control-Allow-Origin", "*"))
            .json(json!({ "error": self.kind(), "description": self.to_string() }))
    }
}
