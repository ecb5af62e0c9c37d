//! [`AuthError`]: why a request was refused, answered as Zuul answers it: a
//! JSON body `{"error", "description", "realm"}` and, for a 401, a
//! `WWW-Authenticate: Bearer ...` header naming the realm and the error.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// The kinds of refusal, named as Zuul names its exceptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// No `Authorization` header on a request that needs one.
    MissingAuth,
    /// An `Authorization` header that is not `Bearer <token>`.
    InvalidAuthFormat,
    /// The token is not a JWT.
    Undecoded,
    /// The signature does not match the authenticator's key.
    InvalidSignature,
    /// No authenticator knows the token's `iss`.
    IssuerUnknown,
    /// One of `aud`, `iss`, `exp`, `sub` (or `iat` when needed) is missing.
    MissingClaim,
    /// The authenticator's uid claim is missing.
    MissingUidClaim,
    /// The token's `aud` is not the authenticator's audience.
    IncorrectAudience,
    /// Past `exp`, or issued longer ago than the authenticator allows.
    TokenExpired,
    /// Any other reason the token is refused (an `iat` in the future, a wrong algorithm).
    Unauthorized,
    /// `zuul.admin` is not a list of tenants.
    IncorrectZuulAdminClaim,
    /// `zuul.admin` from an issuer not allowed to set it.
    UnauthorizedZuulAdminClaim,
    /// A valid token without the rights the request needs.
    Forbidden,
}

impl Denial {
    /// Zuul's name for this refusal, the `error` of the JSON body.
    pub fn name(self) -> &'static str {
        match self {
            Denial::MissingAuth => "MissingAuthError",
            Denial::InvalidAuthFormat => "InvalidAuthFormat",
            Denial::Undecoded => "AuthTokenUndecodedException",
            Denial::InvalidSignature => "AuthTokenInvalidSignatureException",
            Denial::IssuerUnknown => "IssuerUnknownError",
            Denial::MissingClaim => "MissingClaimError",
            Denial::MissingUidClaim => "MissingUIDClaimError",
            Denial::IncorrectAudience => "IncorrectAudienceError",
            Denial::TokenExpired => "TokenExpiredError",
            Denial::Unauthorized => "AuthTokenUnauthorizedException",
            Denial::IncorrectZuulAdminClaim => "IncorrectZuulAdminClaimError",
            Denial::UnauthorizedZuulAdminClaim => "UnauthorizedZuulAdminClaimError",
            Denial::Forbidden => "AuthTokenForbiddenException",
        }
    }

    /// Zuul's default description of this refusal.
    pub fn description(self) -> &'static str {
        match self {
            Denial::MissingAuth => "Missing \"Authorization\" header",
            Denial::InvalidAuthFormat => "\"Authorization\" header must start with \"Bearer\"",
            Denial::Undecoded => "Auth Token could not be decoded",
            Denial::InvalidSignature => "Invalid signature",
            Denial::IssuerUnknown => "Issuer unknown",
            Denial::MissingClaim => "Token is missing claims",
            Denial::MissingUidClaim => "Token is missing id claim",
            Denial::IncorrectAudience => "Incorrect audience",
            Denial::TokenExpired => "Token has expired",
            Denial::Unauthorized => "This action requires authentication",
            Denial::IncorrectZuulAdminClaim => {
                "The \"zuul.admin\" claim is expected to be a list of tenants"
            }
            Denial::UnauthorizedZuulAdminClaim => {
                "Issuer is not allowed to set \"zuul.admin\" claim"
            }
            Denial::Forbidden => "Insufficient privileges",
        }
    }
}

/// A refused request: the kind, what to tell the client, and the realm to name.
///
/// The description never quotes the token: it is one of a fixed set of sentences.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{description}")]
pub struct AuthError {
    /// Why.
    pub kind: Denial,
    /// What the client is told.
    pub description: &'static str,
    /// The realm of the authenticator that refused, or the default realm.
    pub realm: Option<String>,
}

impl AuthError {
    /// A refusal of `kind` with Zuul's default description.
    pub fn new(kind: Denial, realm: Option<&str>) -> Self {
        AuthError::with(kind, kind.description(), realm)
    }

    /// A refusal of `kind` with a description of its own.
    pub fn with(kind: Denial, description: &'static str, realm: Option<&str>) -> Self {
        AuthError {
            kind,
            description,
            realm: realm.map(str::to_string),
        }
    }

    /// The `WWW-Authenticate` challenge (RFC 6750) for a 401.
    fn challenge(&self) -> String {
        let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        format!(
            "Bearer realm=\"{}\", error=\"{}\", error_description=\"{}\"",
            quote(self.realm.as_deref().unwrap_or("")),
            self.kind.name(),
            quote(self.description),
        )
    }
}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        match self.kind {
            Denial::Forbidden => StatusCode::FORBIDDEN,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let mut response = HttpResponse::build(status);
        response.insert_header(("Access-Control-Allow-Origin", "*"));
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header(("WWW-Authenticate", self.challenge()));
        }
        response.json(json!({
            "error": self.kind.name(),
            "description": self.description,
            "realm": self.realm,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_names_realm_and_error_with_quotes_escaped() {
        let err = AuthError::with(
            Denial::Unauthorized,
            "\"iat\" claim set in the future",
            Some("zuul.example.com"),
        );
        assert_eq!(
            err.challenge(),
            r#"Bearer realm="zuul.example.com", error="AuthTokenUnauthorizedException", error_description="\"iat\" claim set in the future""#
        );
    }

    #[test]
    fn only_a_forbidden_refusal_is_a_403() {
        assert_eq!(
            AuthError::new(Denial::Forbidden, None).status_code(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            AuthError::new(Denial::TokenExpired, None).status_code(),
            StatusCode::UNAUTHORIZED
        );
    }
}
