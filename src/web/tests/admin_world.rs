//! The admin tests' world: the web harness's tenant, two authenticators
//! (HS256 that may override with `zuul.admin`, RS256 whose users are admins
//! by the tenant's admin rule), tokens minted here with the same JWT library,
//! and a fake engine that records every admin command.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::http::header::HeaderMap;
use actix_web::http::{Method, StatusCode};
use actix_web::{test, App};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use portcullis_config::server::{AuthKey, Authenticator};
use portcullis_config::tenant::TopLevel;
use portcullis_config::{TenantConfig, TenantDef};
use serde_json::{json, Value};

use super::harness::{World, TENANT};
use crate::web::admin::engine::{
    AdminEngine, AdminError, Answer, AutoholdInfo, AutoholdRequest, DequeueRequest, EnqueueRequest,
    PromoteRequest,
};
use crate::web::{app_config_with, Auth};

/// The HS256 authenticator's shared secret.
pub const SECRET: &str = "test-only-hs256-secret";
/// The HS256 authenticator's issuer, audience and realm.
pub const HS_ISS: &str = "zuul_operator";
/// The RS256 authenticator's issuer.
pub const RS_ISS: &str = "https://keycloak.test/realms/zuul";
/// The RS256 authenticator's audience and client id.
pub const RS_AUD: &str = "zuul-web";

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/web/tests/fixtures");

/// The signing keys a test may mint with.
#[derive(Clone, Copy)]
pub enum Key {
    /// The HS256 authenticator's secret.
    Hs256,
    /// Some other secret (a forgery).
    Hs256Forged,
    /// The RS256 authenticator's private key.
    Rs256,
    /// Another RSA key (a forgery).
    Rs256Forged,
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    let elapsed = SystemTime::now().duration_since(UNIX_EPOCH);
    elapsed.expect("a clock after 1970").as_secs() as i64
}

/// A token signed with `key` carrying `claims`.
pub fn mint(key: Key, claims: Value) -> String {
    let pem = |name: &str| std::fs::read(format!("{FIXTURES}/{name}")).expect("a fixture key");
    let (algorithm, key) = match key {
        Key::Hs256 => (
            Algorithm::HS256,
            EncodingKey::from_secret(SECRET.as_bytes()),
        ),
        Key::Hs256Forged => (Algorithm::HS256, EncodingKey::from_secret(b"guessed")),
        Key::Rs256 => (Algorithm::RS256, rsa(&pem("test-only-rs256-private.pem"))),
        Key::Rs256Forged => (
            Algorithm::RS256,
            rsa(&pem("test-only-rs256-other-private.pem")),
        ),
    };
    jsonwebtoken::encode(&Header::new(algorithm), &claims, &key).expect("a signed token")
}

fn rsa(pem: &[u8]) -> EncodingKey {
    EncodingKey::from_rsa_pem(pem).expect("an RSA private key")
}

/// Valid HS256 claims of an operator naming `tenants` in `zuul.admin`.
pub fn operator(tenants: &[&str]) -> Value {
    let (iat, exp) = (now(), now() + 600);
    json!({"iss": HS_ISS, "aud": HS_ISS, "sub": "operator", "iat": iat, "exp": exp, "zuul": {"admin": tenants}})
}

/// Valid RS256 claims of a user in `groups`.
pub fn user(groups: &[&str]) -> Value {
    let (iat, exp) = (now(), now() + 600);
    json!({"iss": RS_ISS, "aud": RS_AUD, "sub": "alice", "iat": iat, "exp": exp, "groups": groups})
}

/// An admin token for the tenant (by the `zuul.admin` override).
pub fn admin_token() -> String {
    mint(Key::Hs256, operator(&[TENANT]))
}

/// The two authenticators.
pub fn authenticators() -> Vec<Authenticator> {
    let hs = Authenticator {
        name: "operator".into(),
        key: AuthKey::Hs256 {
            secret: SECRET.into(),
        },
        realm: "zuul.example.com".into(),
        issuer_id: HS_ISS.into(),
        client_id: HS_ISS.into(),
        audience: HS_ISS.into(),
        uid_claim: "sub".into(),
        max_validity_time: Some(3600),
        skew: 0,
        default: false,
        allow_authz_override: true,
    };
    let rs = Authenticator {
        name: "keycloak".into(),
        key: AuthKey::Rs256 {
            public_key: format!("{FIXTURES}/test-only-rs256-public.pem").into(),
        },
        realm: "keycloak".into(),
        issuer_id: RS_ISS.into(),
        client_id: RS_AUD.into(),
        audience: RS_AUD.into(),
        default: true,
        allow_authz_override: false,
        ..hs.clone()
    };
    vec![hs, rs]
}

/// The tenant file as [`Auth`] sees it: the tenant's admins are in group `{tenant}-admins`.
pub fn tenant_rules() -> TenantConfig {
    let mut tenant = TenantDef {
        name: TENANT.into(),
        ..Default::default()
    };
    tenant.options.admin_rules = vec!["tenant-admins".into()];
    // As the tenant file's parser defaults it; `TenantOptions::default()` says false.
    tenant.options.anonymous_read_access = true;
    let rule = TopLevel::Rule {
        kind: "admin-rule".into(),
        name: "tenant-admins".into(),
        conditions: json!([{"groups": "{tenant.name}-admins"}]),
    };
    TenantConfig {
        tenants: vec![tenant],
        items: vec![rule],
    }
}

/// The harness world with authenticators and a recording engine.
pub struct AdminWorld {
    /// Tenant, store and real engine.
    pub world: World,
    /// Every admin command the handlers sent.
    pub engine: Arc<FakeEngine>,
    /// The authenticators and rules.
    pub auth: Arc<Auth>,
    /// What the handlers talk to: the fake engine, or the real one.
    admin: Arc<dyn AdminEngine>,
}

impl AdminWorld {
    /// A world whose tenant's admins are the operator's tokens and group `example-admins`.
    pub async fn new() -> AdminWorld {
        let auth = Auth::new(&authenticators(), &tenant_rules()).expect("the authenticators");
        AdminWorld::with_auth(auth).await
    }

    /// A world with `auth` in place of the usual authenticators.
    pub async fn with_auth(auth: Auth) -> AdminWorld {
        let engine = Arc::new(FakeEngine::default());
        AdminWorld {
            world: World::new().await,
            admin: engine.clone(),
            engine,
            auth: Arc::new(auth),
        }
    }

    /// A world whose handlers talk to the harness's real engine (a tenant
    /// with two projects and no pipelines) instead of the fake.
    pub async fn over_the_real_engine() -> AdminWorld {
        let mut world = AdminWorld::new().await;
        world.admin = Arc::new(world.world.state.engine.clone());
        world
    }

    /// Sends one request with `token` as bearer; answers status, headers and
    /// the JSON body (`Null` when empty, a string when not JSON).
    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: &str,
    ) -> (StatusCode, HeaderMap, Value) {
        let authorization = token.map(|t| format!("Bearer {t}"));
        self.send_raw(method, uri, authorization.as_deref(), body)
            .await
    }

    /// Sends one request with `authorization` as the header, as written.
    pub async fn send_raw(
        &self,
        method: Method,
        uri: &str,
        authorization: Option<&str>,
        body: &str,
    ) -> (StatusCode, HeaderMap, Value) {
        let config = app_config_with(
            self.world.state.clone(),
            self.auth.clone(),
            self.admin.clone(),
        );
        let app = test::init_service(App::new().configure(config)).await;
        let mut request = test::TestRequest::default()
            .method(method)
            .uri(uri)
            .set_payload(body.to_string());
        if let Some(authorization) = authorization {
            request = request.insert_header(("Authorization", authorization.to_string()));
        }
        let response = test::call_service(&app, request.to_request()).await;
        let (status, headers) = (response.status(), response.headers().clone());
        let bytes = test::read_body(response).await;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, headers, body)
    }

    /// `POST uri` with `body` and an admin token.
    pub async fn post_as_admin(&self, uri: &str, body: Value) -> (StatusCode, Value) {
        let (status, _, body) = self
            .send(Method::POST, uri, Some(&admin_token()), &body.to_string())
            .await;
        (status, body)
    }
}

/// One admin command, as the fake engine received it.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// `enqueue`.
    Enqueue(EnqueueRequest),
    /// `dequeue`.
    Dequeue(DequeueRequest),
    /// `promote`.
    Promote(PromoteRequest),
    /// `autohold`.
    Autohold(AutoholdRequest),
    /// `autohold_delete`.
    DeleteHold(String),
}

/// An engine that knows pipelines `check` and `gate`, the tenant's two
/// projects and changes `1,1` and `2,1`, and records what it is asked.
#[derive(Default)]
pub struct FakeEngine {
    /// The commands, in order.
    pub calls: Mutex<Vec<Call>>,
    /// Autohold requests by id.
    pub holds: Mutex<BTreeMap<String, AutoholdInfo>>,
}

impl FakeEngine {
    /// The commands received so far.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("calls").clone()
    }

    /// Adds a hold as if made earlier.
    pub fn add_hold(&self, id: &str, tenant: &str, project: &str) {
        let hold = AutoholdInfo {
            id: id.into(),
            tenant: tenant.into(),
            project: project.into(),
            job: "unit".into(),
            ref_filter: ".*".into(),
            change: None,
            max_count: 1,
            current_count: 0,
            reason: "a test".into(),
            node_expiration: None,
            expired: None,
            nodes: Vec::new(),
        };
        self.holds.lock().expect("holds").insert(id.into(), hold);
    }

    fn record(&self, call: Call) {
        self.calls.lock().expect("calls").push(call);
    }
}

fn known(
    tenant: &str,
    pipeline: Option<&str>,
    project: Option<&str>,
    changes: &[String],
) -> Result<(), AdminError> {
    if tenant != TENANT {
        return Err(AdminError::UnknownTenant(tenant.into()));
    }
    if let Some(p) = project.filter(|p| !["org/project", "org/config"].contains(p)) {
        return Err(AdminError::UnknownProject(p.into()));
    }
    if let Some(p) = pipeline.filter(|p| !["check", "gate"].contains(p)) {
        return Err(AdminError::UnknownPipeline(p.into()));
    }
    match changes
        .iter()
        .find(|c| !["1,1", "2,1"].contains(&c.as_str()))
    {
        Some(c) => Err(AdminError::UnknownChange(c.clone())),
        None => Ok(()),
    }
}

fn answer<T: Send + 'static>(result: Result<T, AdminError>) -> Answer<T> {
    Box::pin(async move { result })
}

impl AdminEngine for FakeEngine {
    fn enqueue(&self, r: EnqueueRequest) -> Answer<()> {
        let checked = known(
            &r.tenant,
            Some(&r.pipeline),
            Some(&r.project),
            r.change.as_slice(),
        );
        self.record(Call::Enqueue(r));
        answer(checked)
    }

    fn dequeue(&self, r: DequeueRequest) -> Answer<()> {
        let checked = known(
            &r.tenant,
            Some(&r.pipeline),
            Some(&r.project),
            r.change.as_slice(),
        );
        self.record(Call::Dequeue(r));
        answer(checked)
    }

    fn promote(&self, r: PromoteRequest) -> Answer<()> {
        let checked = known(&r.tenant, Some(&r.pipeline), None, &r.changes);
        self.record(Call::Promote(r));
        answer(checked)
    }

    fn autohold(&self, r: AutoholdRequest) -> Answer<String> {
        let checked = known(&r.tenant, None, Some(&r.project), &[]);
        let id = format!("{:010}", self.holds.lock().expect("holds").len());
        if checked.is_ok() {
            self.add_hold(&id, &r.tenant, &r.project);
        }
        self.record(Call::Autohold(r));
        answer(checked.map(|()| id))
    }

    fn autohold_list(&self, tenant: String) -> Answer<Vec<AutoholdInfo>> {
        let holds = self.holds.lock().expect("holds");
        answer(Ok(holds
            .values()
            .filter(|h| h.tenant == tenant)
            .cloned()
            .collect()))
    }

    fn autohold_get(&self, id: String) -> Answer<Option<AutoholdInfo>> {
        answer(Ok(self.holds.lock().expect("holds").get(&id).cloned()))
    }

    fn autohold_delete(&self, id: String) -> Answer<bool> {
        let removed = self.holds.lock().expect("holds").remove(&id).is_some();
        self.record(Call::DeleteHold(id));
        answer(Ok(removed))
    }
}
