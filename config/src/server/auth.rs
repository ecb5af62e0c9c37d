//! The `auth` section of the server config: the authenticators that verify
//! bearer tokens on the admin API, modelled on Zuul's `[auth NAME]` sections.
//!
//! ```yaml
//! auth:
//!   - name: zuul_operator
//!     driver: HS256
//!     realm: zuul.example.com
//!     issuer-id: zuul_operator
//!     client-id: zuul.example.com
//!     secret: exampleSecret
//!     allow-authz-override: true
//! ```
//!
//! Zuul's snake_case keys (`issuer_id`, `client_id`, ...) are accepted too, so
//! an authenticator can be copied from a zuul.conf.

use std::path::Path;
use std::path::PathBuf;

use serde::Deserialize;

use crate::ConfigError;

/// One authenticator: which tokens it accepts and how their claims are read.
#[derive(Debug, Clone, PartialEq)]
pub struct Authenticator {
    /// The authenticator's name (Zuul's `[auth NAME]`).
    pub name: String,
    /// How signatures are checked, with the key to check them.
    pub key: AuthKey,
    /// The realm reported in `/api/info` and in `WWW-Authenticate`.
    pub realm: String,
    /// The `iss` claim a token must carry; also picks the authenticator for a token.
    pub issuer_id: String,
    /// The client id reported in `/api/info`.
    pub client_id: String,
    /// The `aud` claim a token must carry; Zuul defaults it to the client id.
    pub audience: String,
    /// The claim that names the user (Zuul's default: `sub`).
    pub uid_claim: String,
    /// Longest age of a token in seconds, counted from its `iat`; `None`: no limit.
    pub max_validity_time: Option<u64>,
    /// Seconds of clock difference tolerated on `exp` and `iat`.
    pub skew: u64,
    /// Whether this authenticator's realm is the default one.
    pub default: bool,
    /// Whether tokens of this issuer may grant admin rights with a `zuul.admin` claim.
    pub allow_authz_override: bool,
}

/// The signature algorithm of an authenticator and its key.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthKey {
    /// HMAC with SHA-256 and a secret shared with the identity provider.
    Hs256 {
        /// The shared secret.
        secret: String,
    },
    /// RSA with SHA-256; the identity provider's public key.
    Rs256 {
        /// The PEM file of the public key, resolved against the config folder.
        public_key: PathBuf,
    },
}

impl AuthKey {
    /// The driver name as written in the config (`HS256`, `RS256`).
    pub fn driver(&self) -> &'static str {
        match self {
            AuthKey::Hs256 { .. } => "HS256",
            AuthKey::Rs256 { .. } => "RS256",
        }
    }
}

/// The default realm as Zuul picks it: the one marked default, else the first.
pub fn default_realm(authenticators: &[Authenticator]) -> Option<&str> {
    authenticators
        .iter()
        .find(|a| a.default)
        .or_else(|| authenticators.first())
        .map(|a| a.realm.as_str())
}

#[derive(Deserialize)]
enum RawDriver {
    HS256,
    RS256,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawAuthenticator {
    name: String,
    driver: RawDriver,
    realm: String,
    #[serde(alias = "issuer_id")]
    issuer_id: String,
    #[serde(alias = "client_id")]
    client_id: String,
    audience: Option<String>,
    secret: Option<String>,
    #[serde(alias = "public_key")]
    public_key: Option<String>,
    #[serde(default = "default_uid_claim", alias = "uid_claim")]
    uid_claim: String,
    #[serde(alias = "max_validity_time")]
    max_validity_time: Option<u64>,
    #[serde(default)]
    skew: u64,
    #[serde(default)]
    default: bool,
    #[serde(default, alias = "allow_authz_override")]
    allow_authz_override: bool,
}

fn default_uid_claim() -> String {
    "sub".to_string()
}

/// Checks the raw authenticators and resolves key paths against `base`.
pub(super) fn resolve(
    file: &str,
    text: &str,
    base: &Path,
    raw: Vec<RawAuthenticator>,
) -> Result<Vec<Authenticator>, ConfigError> {
    let mut out: Vec<Authenticator> = Vec::new();
    for raw in raw {
        let line = line_of_name(text, &raw.name);
        let fail = |why: String| ConfigError::in_file(file, line, why);
        if out.iter().any(|a| a.name == raw.name) {
            return Err(fail(format!("authenticator {} is defined twice", raw.name)));
        }
        if raw.default && out.iter().any(|a| a.default) {
            return Err(fail(format!(
                "authenticator {}: only one authenticator may be the default",
                raw.name
            )));
        }
        let key = match (raw.driver, raw.secret, raw.public_key) {
            (RawDriver::HS256, Some(secret), None) if !secret.is_empty() => {
                AuthKey::Hs256 { secret }
            }
            (RawDriver::RS256, None, Some(path)) => AuthKey::Rs256 {
                public_key: base.join(path),
            },
            (RawDriver::HS256, _, _) => {
                return Err(fail(format!(
                    "authenticator {}: driver HS256 needs a non-empty secret and no public-key",
                    raw.name
                )))
            }
            (RawDriver::RS256, _, _) => {
                return Err(fail(format!(
                    "authenticator {}: driver RS256 needs a public-key (a PEM file) and no secret",
                    raw.name
                )))
            }
        };
        out.push(Authenticator {
            audience: raw.audience.unwrap_or_else(|| raw.client_id.clone()),
            name: raw.name,
            key,
            realm: raw.realm,
            issuer_id: raw.issuer_id,
            client_id: raw.client_id,
            uid_claim: raw.uid_claim,
            max_validity_time: raw.max_validity_time,
            skew: raw.skew,
            default: raw.default,
            allow_authz_override: raw.allow_authz_override,
        });
    }
    Ok(out)
}

/// The line of an authenticator's `name: NAME`, for errors found after parsing.
fn line_of_name(text: &str, name: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start().trim_start_matches("- ").trim_start();
            l.strip_prefix("name:")
                .map(|v| v.trim().trim_matches(['"', '\'']) == name)
                .unwrap_or(false)
        })
        .map(|i| i + 1)
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use crate::server::ServerConfig;
    use crate::ConfigError;
    use std::path::Path;

    use super::*;

    fn parse(auth: &str) -> Result<ServerConfig, ConfigError> {
        let text = format!("tenant-config: main.yaml\nauth:\n{auth}");
        ServerConfig::parse(Path::new("/srv/p/portcullis.yaml"), &text)
    }

    #[test]
    fn an_hs256_authenticator_takes_zuuls_defaults() {
        let config = parse(
            "  - name: op\n    driver: HS256\n    realm: r\n    issuer-id: iss\n    client-id: cid\n    secret: s3cret\n",
        )
        .unwrap();
        let a = &config.auth[0];
        assert_eq!(
            a.key,
            AuthKey::Hs256 {
                secret: "s3cret".into()
            }
        );
        assert_eq!((a.audience.as_str(), a.uid_claim.as_str()), ("cid", "sub"));
        assert_eq!((a.max_validity_time, a.skew, a.default), (None, 0, false));
        assert!(!a.allow_authz_override);
        assert_eq!(default_realm(&config.auth), Some("r"));
    }

    #[test]
    fn an_rs256_key_path_is_resolved_against_the_config_folder_and_zuul_keys_are_accepted() {
        let config = parse(
            "  - {name: a, driver: HS256, realm: ra, issuer_id: i, client_id: c, secret: x}\n  - {name: b, driver: RS256, realm: rb, issuer_id: i2, client_id: c, public_key: keys/pub.pem, default: true, max_validity_time: 600, skew: 5}\n",
        )
        .unwrap();
        let b = &config.auth[1];
        assert_eq!(
            b.key,
            AuthKey::Rs256 {
                public_key: "/srv/p/keys/pub.pem".into()
            }
        );
        assert_eq!((b.max_validity_time, b.skew), (Some(600), 5));
        assert_eq!(default_realm(&config.auth), Some("rb"));
    }

    #[test]
    fn no_auth_section_means_no_authenticators() {
        let config =
            ServerConfig::parse(Path::new("/srv/p/p.yaml"), "tenant-config: main.yaml\n").unwrap();
        assert!(config.auth.is_empty());
        assert_eq!(default_realm(&config.auth), None);
    }

    #[test]
    fn an_unknown_authenticator_key_is_named_with_its_line() {
        let err = parse("  - name: op\n    driver: HS256\n    realm: r\n    issuer-id: i\n    client-id: c\n    secret: s\n    secrte: t\n").unwrap_err();
        assert!(err.message.contains("secrte"), "{err}");
        assert!(err.line >= 3, "{err}");
    }

    #[test]
    fn an_unknown_driver_is_an_error() {
        let err = parse(
            "  - {name: op, driver: HS512, realm: r, issuer-id: i, client-id: c, secret: s}\n",
        )
        .unwrap_err();
        assert!(err.message.contains("HS512"), "{err}");
        assert_eq!(err.line, 3, "{err}");
    }

    #[test]
    fn hs256_without_a_secret_is_an_error_at_the_authenticators_line() {
        let err = parse("  - {name: ok, driver: HS256, realm: r, issuer-id: i, client-id: c, secret: s}\n  - name: op\n    driver: HS256\n    realm: r\n    issuer-id: i\n    client-id: c\n").unwrap_err();
        assert!(err.message.contains("op: driver HS256 needs"), "{err}");
        assert_eq!(err.line, 4, "{err}");
    }

    #[test]
    fn rs256_with_a_secret_instead_of_a_key_is_an_error() {
        let err = parse(
            "  - {name: op, driver: RS256, realm: r, issuer-id: i, client-id: c, secret: s}\n",
        )
        .unwrap_err();
        assert!(err.message.contains("needs a public-key"), "{err}");
    }

    #[test]
    fn two_authenticators_with_one_name_or_two_defaults_are_errors() {
        let one = "  - {name: op, driver: HS256, realm: r, issuer-id: i, client-id: c, secret: s, default: true}\n";
        let twice = parse(&format!("{one}{one}")).unwrap_err();
        assert!(twice.message.contains("defined twice"), "{twice}");
        let other = one.replace("name: op", "name: op2");
        let defaults = parse(&format!("{one}{other}")).unwrap_err();
        assert!(defaults.message.contains("only one"), "{defaults}");
    }
}
