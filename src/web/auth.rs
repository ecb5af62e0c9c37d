//! Who may do what on the API: bearer tokens checked against the server
//! config's authenticators, and the tenant config's rules, as Zuul does it.
//!
//! | module | holds |
//! |---|---|
//! | [`error`] | [`AuthError`]: 401s and 403s in Zuul's JSON shape, with `WWW-Authenticate` |
//! | [`token`] | [`Verifier`]: one authenticator checking one token; [`Claims`] |
//! | [`rule`] | matching `admin-rule` / `authorization-rule` conditions against claims |
//!
//! A tenant's admins are those whose claims meet one of the tenant's
//! `admin-rules`, or whose token (from an issuer with `allow-authz-override`)
//! lists the tenant in its `zuul.admin` claim.

pub mod error;
pub mod rule;
pub mod token;

use std::collections::BTreeMap;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, HttpRequest, HttpResponse};
use portcullis_config::server::{default_realm, Authenticator};
use portcullis_config::tenant::TopLevel;
use portcullis_config::TenantConfig;
use serde_json::{json, Map, Value};

pub use error::{AuthError, Denial};
pub use token::{Claims, SetupError, Verifier};

use super::WebState;

/// What a request needs of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Reading: anyone, unless the tenant is read-protected.
    Read,
    /// A valid token with read access.
    Token,
    /// A valid token of an admin of the tenant.
    Admin,
}

/// What a caller may do on a tenant (or the API root).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rights {
    /// May read.
    pub access: bool,
    /// May run admin actions.
    pub admin: bool,
}

/// Who may read and who may act, on one tenant or on the API root.
#[derive(Debug, Clone)]
struct Scope {
    admin_rules: Vec<String>,
    access_rules: Vec<String>,
    realm: Option<String>,
    anonymous_read: bool,
}

impl Default for Scope {
    fn default() -> Self {
        Scope {
            admin_rules: Vec::new(),
            access_rules: Vec::new(),
            realm: None,
            anonymous_read: true,
        }
    }
}

impl Scope {
    fn read_protected(&self) -> bool {
        !self.anonymous_read || !self.access_rules.is_empty()
    }
}

/// The authenticators and the rules; shared by every handler as app data.
#[derive(Debug, Default)]
pub struct Auth {
    verifiers: Vec<Verifier>,
    default_realm: Option<String>,
    /// Conditions of every `admin-rule` / `authorization-rule`, by name.
    rules: BTreeMap<String, Value>,
    tenants: BTreeMap<String, Scope>,
    root: Scope,
}

impl Auth {
    /// Prepares the authenticators (reading RS256 key files) and the tenant file's rules.
    pub fn new(
        authenticators: &[Authenticator],
        tenants: &TenantConfig,
    ) -> Result<Auth, SetupError> {
        let verifiers = authenticators
            .iter()
            .map(Verifier::new)
            .collect::<Result<_, _>>()?;
        let mut auth = Auth {
            verifiers,
            default_realm: default_realm(authenticators).map(str::to_string),
            ..Auth::default()
        };
        for item in &tenants.items {
            match item {
                TopLevel::Rule {
                    name, conditions, ..
                } => {
                    auth.rules.insert(name.clone(), conditions.clone());
                }
                TopLevel::ApiRoot(root) => auth.root = api_root_scope(root),
                TopLevel::GlobalSemaphore(_) => {}
            }
        }
        for tenant in &tenants.tenants {
            let options = &tenant.options;
            let scope = Scope {
                admin_rules: options.admin_rules.clone(),
                access_rules: options.access_rules.clone(),
                realm: options.authentication_realm.clone(),
                anonymous_read: options.anonymous_read_access,
            };
            auth.tenants.insert(tenant.name.clone(), scope);
        }
        Ok(auth)
    }

    /// Whether any authenticator is configured; without one the admin API is off, as in Zuul.
    pub fn enabled(&self) -> bool {
        !self.verifiers.is_empty()
    }

    /// Checks the caller of `req` against `need` on `tenant` (`None`: the API
    /// root). Answers the verified claims, or `None` for an anonymous reader.
    pub fn check(
        &self,
        req: &HttpRequest,
        tenant: Option<&str>,
        need: Need,
    ) -> Result<Option<Claims>, AuthError> {
        let required = need != Need::Read || self.scope(tenant).read_protected();
        let claims = match self.bearer(req).and_then(|token| self.authenticate(token)) {
            Ok(claims) => claims,
            Err(e) if required => return Err(e),
            Err(_) => return Ok(None),
        };
        let rights = self.rights(tenant, &claims);
        if (required && !rights.access) || (need == Need::Admin && !rights.admin) {
            let tenant = tenant.unwrap_or("*");
            tracing::info!(uid = %claims.uid, tenant, ?need, "refused: not authorized");
            return Err(AuthError::new(Denial::Forbidden, Some(&claims.realm)));
        }
        Ok(Some(claims))
    }

    /// Whether the caller of `req` may read `tenant`, without logging a refusal:
    /// for lists that leave out what the caller may not see.
    pub fn may_read(&self, req: &HttpRequest, tenant: &str) -> bool {
        if !self.scope(Some(tenant)).read_protected() {
            return true;
        }
        let claims = self.bearer(req).and_then(|token| self.authenticate(token));
        claims.is_ok_and(|claims| self.rights(Some(tenant), &claims).access)
    }

    /// The token of a `Authorization: Bearer <token>` header.
    fn bearer<'r>(&self, req: &'r HttpRequest) -> Result<&'r str, AuthError> {
        let realm = self.default_realm.as_deref();
        let Some(header) = req.headers().get(AUTHORIZATION) else {
            return Err(AuthError::new(Denial::MissingAuth, realm));
        };
        let text = header.to_str().unwrap_or("");
        match text.get(..7) {
            Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => Ok(text[7..].trim()),
            _ => Err(AuthError::new(Denial::InvalidAuthFormat, realm)),
        }
    }

    /// Verifies `token` with the authenticator of its issuer.
    pub fn authenticate(&self, token: &str) -> Result<Claims, AuthError> {
        let realm = self.default_realm.as_deref();
        // The issuer picks the authenticator; the signature is checked right after.
        let unverified =
            jsonwebtoken::dangerous::insecure_decode_claims::<Map<String, Value>>(token)
                .map_err(|_| AuthError::new(Denial::Undecoded, realm))?;
        let issuer = unverified.get("iss").and_then(Value::as_str).unwrap_or("");
        let verifier = self.verifiers.iter().find(|v| v.config.issuer_id == issuer);
        verifier
            .ok_or_else(|| AuthError::new(Denial::IssuerUnknown, realm))?
            .verify(token)
    }

    /// What `claims` allow on `tenant` (`None`: the API root).
    pub fn rights(&self, tenant: Option<&str>, claims: &Claims) -> Rights {
        if claims.admin_tenants().contains(&tenant.unwrap_or("*")) {
            return Rights {
                access: true,
                admin: true,
            };
        }
        let scope = self.scope(tenant);
        let admin = self.any_rule(&scope.admin_rules, claims, tenant);
        let access = admin
            || (scope.anonymous_read && scope.access_rules.is_empty())
            || self.any_rule(&scope.access_rules, claims, tenant);
        Rights { access, admin }
    }

    fn any_rule(&self, names: &[String], claims: &Claims, tenant: Option<&str>) -> bool {
        names.iter().any(|name| match self.rules.get(name) {
            Some(conditions) => rule::matches(conditions, claims, tenant),
            None => {
                tracing::error!(rule = %name, "undefined rule; it grants nothing");
                false
            }
        })
    }

    fn scope(&self, tenant: Option<&str>) -> &Scope {
        match tenant {
            Some(name) => self.tenants.get(name).unwrap_or(&self.root),
            None => &self.root,
        }
    }

    /// The `auth` capability of `/api/info` (or of a tenant's info), as Zuul reports it.
    pub fn capabilities(&self, tenant: Option<&str>) -> Value {
        let realms: Map<String, Value> = self
            .verifiers
            .iter()
            .map(|v| {
                let c = &v.config;
                let realm = json!({
                    "authority": c.issuer_id,
                    "client_id": c.client_id,
                    "type": "JWT",
                    "driver": c.key.driver(),
                });
                (c.realm.clone(), realm)
            })
            .collect();
        let scope = self.scope(tenant);
        let default_realm = scope.realm.as_ref().or(self.default_realm.as_ref());
        json!({
            "realms": realms,
            "default_realm": default_realm,
            "read_protected": scope.read_protected(),
        })
    }

    /// Zuul's answer to "what may this token do here".
    fn authorizations(&self, tenant: Option<&str>, claims: &Claims) -> Value {
        let rights = self.rights(tenant, claims);
        let mut permissions = Map::new();
        if self.scope(tenant).anonymous_read {
            permissions.insert("read".into(), json!(true));
        }
        if rights.admin {
            permissions.insert("admin".into(), json!(true));
        }
        let scope = [tenant.unwrap_or("*")];
        json!({"zuul": {"admin": rights.admin, "permissions": permissions, "scope": scope}})
    }
}

/// The API root's read rules from a tenant file's `- api-root:` item.
fn api_root_scope(root: &Value) -> Scope {
    let strings = |key: &str| -> Vec<String> {
        match root.get(key) {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    };
    Scope {
        admin_rules: Vec::new(),
        access_rules: strings("access-rules"),
        realm: root
            .get("authentication-realm")
            .and_then(Value::as_str)
            .map(str::to_string),
        anonymous_read: root
            .get("anonymous-read-access")
            .and_then(Value::as_bool)
            .unwrap_or(true),
    }
}

/// Registers `/api/authorizations` and `/api/tenant/{t}/authorizations`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/authorizations", web::get().to(root_authorizations))
        .route(
            "/api/tenant/{tenant}/authorizations",
            web::get().to(tenant_authorizations),
        );
}

async fn root_authorizations(
    auth: web::Data<Auth>,
    req: HttpRequest,
) -> Result<HttpResponse, AuthError> {
    let claims = auth.check(&req, None, Need::Token)?;
    let claims =
        claims.ok_or_else(|| AuthError::new(Denial::Forbidden, auth.default_realm.as_deref()))?;
    Ok(cors_json(auth.authorizations(None, &claims)))
}

async fn tenant_authorizations(
    state: web::Data<WebState>,
    auth: web::Data<Auth>,
    tenant: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, actix_web::Error> {
    super::api::check_tenant(&state, &tenant).await?;
    let claims = auth.check(&req, Some(&tenant), Need::Token)?;
    let claims =
        claims.ok_or_else(|| AuthError::new(Denial::Forbidden, auth.default_realm.as_deref()))?;
    Ok(cors_json(auth.authorizations(Some(&tenant), &claims)))
}

/// A JSON answer any origin may read.
pub fn cors_json(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .json(body)
}
