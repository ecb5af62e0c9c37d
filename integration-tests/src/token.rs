//! Bearer tokens for the admin API: HS256 JWTs with Zuul's claims, minted
//! for the one authenticator that [`auth_scenario`] configures.
//!
//! | token | what the server should make of it |
//! |---|---|
//! | [`admin`] | a user the tenant's `admin-rules` name: may act |
//! | [`override_admin`] | anyone with `zuul.admin: [tenant]`: may act (the issuer allows overrides) |
//! | [`user`] | a valid token of someone with no rights: 403 |
//! | [`expired`] | past its `exp`: 401 |
//! | [`forged`] | signed with another secret: 401 |

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header};
use serde_json::{json, Value};

use crate::server::{Scenario, TENANT};

/// The authenticator's shared secret.
pub const SECRET: &str = "portcullis-integration-secret";
/// The authenticator's `issuer-id` (the `iss` claim).
pub const ISSUER: &str = "portcullis_tests";
/// The authenticator's `client-id`, also the audience (the `aud` claim).
pub const CLIENT_ID: &str = "portcullis.example.invalid";
/// The authenticator's realm.
pub const REALM: &str = "portcullis.example.invalid";
/// The user the tenant's admin rule names.
pub const ADMIN_USER: &str = "alice";

/// A scenario whose server has one HS256 authenticator and whose tenant
/// makes [`ADMIN_USER`] an admin through an `admin-rule`.
pub fn auth_scenario(scenario: Scenario) -> Scenario {
    Scenario {
        server_extra: format!(
            "auth:\n  - name: tests\n    driver: HS256\n    realm: {REALM}\n    \
             issuer-id: {ISSUER}\n    client-id: {CLIENT_ID}\n    secret: {SECRET}\n    \
             allow-authz-override: true\n"
        ),
        tenant_options: "    admin-rules: [gatekeepers]\n".into(),
        tenant_items: format!(
            "- admin-rule:\n    name: gatekeepers\n    conditions:\n      - sub: {ADMIN_USER}\n"
        ),
        ..scenario
    }
}

/// Seconds since the epoch.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Zuul's claims for `sub`, issued now and valid for ten minutes.
pub fn claims(sub: &str) -> Value {
    let now = now();
    json!({"iss": ISSUER, "aud": CLIENT_ID, "sub": sub, "iat": now, "exp": now + 600})
}

/// Signs `claims` with HS256 and `secret`.
pub fn mint(claims: &Value, secret: &str) -> String {
    let key = EncodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::encode(&Header::default(), claims, &key).expect("sign a token")
}

/// A token of the admin the tenant's rule names.
pub fn admin() -> String {
    mint(&claims(ADMIN_USER), SECRET)
}

/// A token of a user the rules do not name, made admin of the tenant by its `zuul.admin` claim.
pub fn override_admin() -> String {
    let mut claims = claims("bob");
    claims["zuul"] = json!({"admin": [TENANT]});
    mint(&claims, SECRET)
}

/// A valid token of a user with no rights on the tenant.
pub fn user() -> String {
    mint(&claims("mallory"), SECRET)
}

/// An admin's token whose `exp` passed an hour ago.
pub fn expired() -> String {
    let mut claims = claims(ADMIN_USER);
    let now = now();
    claims["iat"] = json!(now - 7200);
    claims["exp"] = json!(now - 3600);
    mint(&claims, SECRET)
}

/// An admin's claims signed with a secret the server does not know.
pub fn forged() -> String {
    mint(&claims(ADMIN_USER), "not-the-secret")
}

/// GETs the `path` of `server` with `token` as bearer (none: no header);
/// answers the status, the `WWW-Authenticate` challenge and the body text.
pub async fn get(
    server: &crate::TestServer,
    path: &str,
    token: Option<&str>,
) -> (u16, Option<String>, String) {
    let mut request = reqwest::Client::new().get(format!("{}{path}", server.base_url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("GET from the server");
    let code = response.status().as_u16();
    let challenge = response
        .headers()
        .get("WWW-Authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (code, challenge, response.text().await.unwrap_or_default())
}

/// POSTs `body` to the API `path` of `server` with `token` as bearer (none: no header).
pub async fn post(
    server: &crate::TestServer,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", server.base_url))
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("POST to the server");
    let code = response.status().as_u16();
    (code, response.json().await.unwrap_or(Value::Null))
}
