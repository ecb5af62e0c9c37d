//! [`AdminApiError`]: every way an admin request fails, answered in Zuul's
//! JSON error shape with the status codes Zuul's handlers use: an unknown
//! tenant, project or hold request in the URL is a 404; a bad body, or an
//! unknown pipeline or change named in it, is a 400.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use super::engine::AdminError;
use crate::web::auth::AuthError;
use crate::web::WebError;

/// Why an admin request failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminApiError {
    /// A failure shared with the rest of the API (unknown tenant, ...).
    #[error(transparent)]
    Web(#[from] WebError),
    /// No token, a bad one, or too few rights.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The body is not what the endpoint takes.
    #[error("Invalid request body: {0}")]
    BadBody(String),
    /// The engine refused the command.
    #[error("{}", engine_refusal(.0))]
    Engine(#[from] AdminError),
    /// No autohold request with that id in the tenant.
    #[error("Hold request {0} not found.")]
    UnknownHold(String),
}

/// What the client is told about an engine refusal, in the words of Zuul's handlers.
fn engine_refusal(e: &AdminError) -> String {
    match e {
        AdminError::UnknownTenant(name) => format!("Unknown tenant {name}"),
        AdminError::UnknownPipeline(name) => format!("Unknown pipeline {name}"),
        AdminError::UnknownProject(name) => format!("Unknown project {name}"),
        AdminError::UnknownChange(name) => format!("Unknown change {name}"),
        AdminError::BadRequest(why) => format!("Invalid request: {why}"),
    }
}

impl AdminApiError {
    /// The `error` of the JSON body.
    fn kind(&self) -> &'static str {
        match self {
            AdminApiError::Web(e) => e.kind(),
            AdminApiError::Auth(e) => e.kind.name(),
            AdminApiError::BadBody(_) => "BadRequest",
            AdminApiError::Engine(AdminError::UnknownTenant(_)) => "UnknownTenant",
            AdminApiError::Engine(AdminError::UnknownProject(_)) => "UnknownProject",
            AdminApiError::Engine(AdminError::UnknownPipeline(_)) => "UnknownPipeline",
            AdminApiError::Engine(AdminError::UnknownChange(_)) => "UnknownChange",
            AdminApiError::Engine(AdminError::BadRequest(_)) => "BadRequest",
            AdminApiError::UnknownHold(_) => "UnknownHoldRequest",
        }
    }
}

impl ResponseError for AdminApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            AdminApiError::Web(e) => e.status_code(),
            AdminApiError::Auth(e) => e.status_code(),
            AdminApiError::Engine(AdminError::UnknownTenant(_) | AdminError::UnknownProject(_))
            | AdminApiError::UnknownHold(_) => StatusCode::NOT_FOUND,
            AdminApiError::BadBody(_) | AdminApiError::Engine(_) => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AdminApiError::Web(e) => e.error_response(),
            AdminApiError::Auth(e) => e.error_response(),
            _ => HttpResponse::build(self.status_code())
                .insert_header(("Access-Control-Allow-Origin", "*"))
                .json(json!({ "error": self.kind(), "description": self.to_string() })),
        }
    }
}
