//! Checking one bearer token against one authenticator, as Zuul's JWT
//! authenticators do: signature, `iss`, `aud`, `exp` (with skew), the claims
//! Zuul requires, `iat` against `max-validity-time`, and the `zuul.admin`
//! override claim.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use portcullis_config::server::{AuthKey, Authenticator};
use serde_json::{Map, Value};

use super::error::{AuthError, Denial};

/// The claims of a verified token.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    /// The user, from the authenticator's uid claim (Zuul's `__zuul_uid_claim`).
    pub uid: String,
    /// The realm of the authenticator that verified the token.
    pub realm: String,
    /// Every claim of the token.
    pub all: Map<String, Value>,
}

impl Claims {
    /// The tenants the `zuul.admin` claim names (empty when there is none).
    pub fn admin_tenants(&self) -> Vec<&str> {
        let listed = self.all.get("zuul").and_then(|z| z.get("admin"));
        let names = listed.and_then(Value::as_array).map(Vec::as_slice);
        names
            .unwrap_or_default()
            .iter()
            .filter_map(Value::as_str)
            .collect()
    }
}

/// Why an authenticator could not be set up at start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The RS256 public key file could not be read.
    #[error("authenticator {name}: cannot read the public key {path}: {source}")]
    KeyFile {
        /// Authenticator name.
        name: String,
        /// The PEM file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The RS256 public key file is not an RSA public key in PEM.
    #[error("authenticator {name}: {path} is not an RSA public key in PEM: {reason}")]
    BadKey {
        /// Authenticator name.
        name: String,
        /// The PEM file.
        path: String,
        /// What the key parser said.
        reason: String,
    },
}

/// One configured authenticator, ready to verify tokens.
pub struct Verifier {
    /// The authenticator as configured.
    pub config: Authenticator,
    key: DecodingKey,
    algorithm: Algorithm,
}

impl std::fmt::Debug for Verifier {
    // The key stays out of debug output: for HS256 it is the shared secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("name", &self.config.name)
            .field("realm", &self.config.realm)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Prepares `config`'s key; reads the PEM file of an RS256 authenticator.
    pub fn new(config: &Authenticator) -> Result<Verifier, SetupError> {
        let (key, algorithm) = match &config.key {
            AuthKey::Hs256 { secret } => (
                DecodingKey::from_secret(secret.as_bytes()),
                Algorithm::HS256,
            ),
            AuthKey::Rs256 { public_key } => {
                let path = public_key.display().to_string();
                let pem = std::fs::read(public_key).map_err(|source| SetupError::KeyFile {
                    name: config.name.clone(),
                    path: path.clone(),
                    source,
                })?;
                let key = DecodingKey::from_rsa_pem(&pem).map_err(|e| SetupError::BadKey {
                    name: config.name.clone(),
                    path,
                    reason: e.to_string(),
                })?;
                (key, Algorithm::RS256)
            }
        };
        Ok(Verifier {
            config: config.clone(),
            key,
            algorithm,
        })
    }

    /// Verifies `token`; its claims, or why it is refused (naming this realm).
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let realm = Some(self.config.realm.as_str());
        let mut validation = Validation::new(self.algorithm);
        validation.set_issuer(&[&self.config.issuer_id]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = self.config.skew;
        validation.validate_nbf = true;
        let decoded = jsonwebtoken::decode::<Map<String, Value>>(token, &self.key, &validation)
            .map_err(|e| AuthError::new(denial_of(e.kind()), realm))?;
        self.check_claims(decoded.claims, now())
    }

    /// Zuul's checks beyond the signature and the registered claims, at `now` (seconds).
    fn check_claims(&self, all: Map<String, Value>, now: f64) -> Result<Claims, AuthError> {
        let config = &self.config;
        let realm = Some(config.realm.as_str());
        if config.max_validity_time.is_some() && !all.contains_key("iat") {
            return Err(AuthError::with(
                Denial::MissingClaim,
                "Missing \"iat\" claim",
                realm,
            ));
        }
        let uid = match all.get(&config.uid_claim) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => return Err(AuthError::new(Denial::MissingUidClaim, realm)),
        };
        let issued_at = all.get("iat").and_then(Value::as_f64).unwrap_or(0.0);
        // Zuul 14.3 tests `iat + skew > now`, which refuses every token younger
        // than the skew; the skew is meant to forgive clocks, so it widens here.
        if issued_at > now + config.skew as f64 {
            let why = "\"iat\" claim set in the future";
            return Err(AuthError::with(Denial::Unauthorized, why, realm));
        }
        if let Some(max) = config.max_validity_time {
            if now - issued_at > max as f64 {
                let why = "Token was issued too long ago";
                return Err(AuthError::with(Denial::TokenExpired, why, realm));
            }
        }
        let claims = Claims {
            uid,
            realm: config.realm.clone(),
            all,
        };
        check_admin_claim(&claims, config.allow_authz_override)?;
        Ok(claims)
    }
}

/// `zuul.admin` must be a list, and only an issuer allowed to may set it.
fn check_admin_claim(claims: &Claims, allowed: bool) -> Result<(), AuthError> {
    let realm = Some(claims.realm.as_str());
    let Some(listed) = claims.all.get("zuul").and_then(|z| z.get("admin")) else {
        return Ok(());
    };
    let Some(tenants) = listed.as_array() else {
        return Err(AuthError::new(Denial::IncorrectZuulAdminClaim, realm));
    };
    if !tenants.is_empty() && !allowed {
        tracing::info!(
            uid = %claims.uid,
            realm = %claims.realm,
            "a token tried to override authorization with zuul.admin; refused"
        );
        return Err(AuthError::new(Denial::UnauthorizedZuulAdminClaim, realm));
    }
    Ok(())
}

/// The refusal a jsonwebtoken error stands for, as Zuul maps PyJWT's.
fn denial_of(kind: &ErrorKind) -> Denial {
    match kind {
        ErrorKind::InvalidSignature => Denial::InvalidSignature,
        ErrorKind::ExpiredSignature => Denial::TokenExpired,
        ErrorKind::InvalidIssuer => Denial::IssuerUnknown,
        ErrorKind::InvalidAudience => Denial::IncorrectAudience,
        ErrorKind::MissingRequiredClaim(_) => Denial::MissingClaim,
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_) => Denial::Undecoded,
        _ => Denial::Unauthorized,
    }
}

/// Seconds since the epoch.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn verifier(max_validity_time: Option<u64>, skew: u64, allow_authz_override: bool) -> Verifier {
        Verifier::new(&Authenticator {
            name: "op".into(),
            key: AuthKey::Hs256 { secret: "s".into() },
            realm: "r".into(),
            issuer_id: "i".into(),
            client_id: "c".into(),
            audience: "c".into(),
            uid_claim: "preferred_username".into(),
            max_validity_time,
            skew,
            default: false,
            allow_authz_override,
        })
        .expect("an HS256 verifier")
    }

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("an object")
    }

    #[test]
    fn the_uid_comes_from_the_configured_claim() {
        let all = claims(json!({"sub": "x", "preferred_username": "alice", "iat": 100}));
        let got = verifier(None, 0, false).check_claims(all, 200.0).unwrap();
        assert_eq!(got.uid, "alice");
        let missing = claims(json!({"sub": "x"}));
        let err = verifier(None, 0, false)
            .check_claims(missing, 200.0)
            .unwrap_err();
        assert_eq!(err.kind, Denial::MissingUidClaim);
    }

    #[test]
    fn a_token_older_than_max_validity_time_has_expired_and_one_without_iat_misses_a_claim() {
        let v = verifier(Some(60), 0, false);
        let old = claims(json!({"preferred_username": "a", "iat": 100}));
        assert_eq!(
            v.check_claims(old.clone(), 161.0).unwrap_err().kind,
            Denial::TokenExpired
        );
        assert!(v.check_claims(old, 150.0).is_ok());
        let no_iat = claims(json!({"preferred_username": "a"}));
        assert_eq!(
            v.check_claims(no_iat, 150.0).unwrap_err().kind,
            Denial::MissingClaim
        );
    }

    #[test]
    fn an_iat_in_the_future_is_refused_unless_within_skew() {
        let future = claims(json!({"preferred_username": "a", "iat": 105}));
        let strict = verifier(None, 0, false).check_claims(future.clone(), 100.0);
        assert_eq!(strict.unwrap_err().kind, Denial::Unauthorized);
        let skewed = verifier(None, 10, false).check_claims(future, 100.0);
        assert!(skewed.is_ok(), "a clock 5 s behind is within a 10 s skew");
    }

    #[test]
    fn zuul_admin_must_be_a_list_and_needs_an_issuer_allowed_to_override() {
        let listed = claims(json!({"preferred_username": "a", "zuul": {"admin": ["t"]}}));
        let refused = verifier(None, 0, false).check_claims(listed.clone(), 1.0);
        assert_eq!(
            refused.unwrap_err().kind,
            Denial::UnauthorizedZuulAdminClaim
        );
        let granted = verifier(None, 0, true).check_claims(listed, 1.0).unwrap();
        assert_eq!(granted.admin_tenants(), ["t"]);
        let scalar = claims(json!({"preferred_username": "a", "zuul": {"admin": "t"}}));
        let bad = verifier(None, 0, true).check_claims(scalar, 1.0);
        assert_eq!(bad.unwrap_err().kind, Denial::IncorrectZuulAdminClaim);
    }
}
