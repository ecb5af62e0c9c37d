//! Who may use the admin API: bearer tokens minted here, checked by the real
//! handlers against HS256 and RS256 authenticators and the tenant's rules.

use actix_web::http::{Method, StatusCode};
use serde_json::{json, Value};

use super::admin_world::{
    admin_token, mint, now, operator, user, AdminWorld, Key, HS_ISS, RS_AUD, RS_ISS,
};
use super::harness::TENANT;
use crate::web::Auth;

const ENQUEUE: &str = "/api/tenant/example/project/org/project/enqueue";
const BODY: &str = r#"{"pipeline": "check", "change": "1,1"}"#;

/// Asks to enqueue with `token`; answers status, the challenge header and the body.
async fn enqueue_with(
    world: &AdminWorld,
    token: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let (status, headers, body) = world.send(Method::POST, ENQUEUE, token, BODY).await;
    let challenge = headers
        .get("WWW-Authenticate")
        .map(|v| v.to_str().expect("ASCII").to_string());
    (status, challenge, body)
}

/// Asserts a 401 with Zuul's error name, and that the engine heard nothing.
async fn assert_refused(world: &AdminWorld, token: &str, error: &str) {
    let (status, challenge, body) = enqueue_with(world, Some(token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], json!(error), "{body}");
    assert!(challenge.expect("a challenge").contains(error));
    assert!(
        world.engine.calls().is_empty(),
        "a refused request reached the engine"
    );
}

#[actix_web::test]
async fn no_token_is_a_401_with_zuuls_json_and_a_bearer_challenge_naming_the_default_realm() {
    let world = AdminWorld::new().await;
    let (status, challenge, body) = enqueue_with(&world, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"error": "MissingAuthError", "description": "Missing \"Authorization\" header", "realm": "keycloak"})
    );
    let challenge = challenge.expect("a WWW-Authenticate header");
    assert!(
        challenge.starts_with("Bearer realm=\"keycloak\""),
        "{challenge}"
    );
    assert!(world.engine.calls().is_empty());
}

#[actix_web::test]
async fn an_authorization_header_that_is_not_bearer_is_a_401() {
    let world = AdminWorld::new().await;
    let (status, headers, body) = world
        .send_raw(Method::POST, ENQUEUE, Some("Basic dXNlcjpwdw=="), BODY)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], json!("InvalidAuthFormat"));
    assert!(headers.contains_key("WWW-Authenticate"));
    // The scheme is case-insensitive, as in Zuul.
    let lower = format!("bearer {}", admin_token());
    let (status, _, body) = world
        .send_raw(Method::POST, ENQUEUE, Some(&lower), BODY)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[actix_web::test]
async fn a_token_signed_with_another_secret_or_key_is_a_401() {
    let world = AdminWorld::new().await;
    assert_refused(
        &world,
        &mint(Key::Hs256Forged, operator(&[TENANT])),
        "AuthTokenInvalidSignatureException",
    )
    .await;
    assert_refused(
        &world,
        &mint(Key::Rs256Forged, user(&["example-admins"])),
        "AuthTokenInvalidSignatureException",
    )
    .await;
}

#[actix_web::test]
async fn a_token_with_a_tampered_payload_is_a_401() {
    let world = AdminWorld::new().await;
    let honest = mint(Key::Rs256, user(&["dev"]));
    let mut parts: Vec<String> = honest.split('.').map(str::to_string).collect();
    let forged_claims = mint(Key::Rs256Forged, user(&["example-admins"]));
    parts[1] = forged_claims
        .split('.')
        .nth(1)
        .expect("a payload")
        .to_string();
    assert_refused(
        &world,
        &parts.join("."),
        "AuthTokenInvalidSignatureException",
    )
    .await;
}

#[actix_web::test]
async fn an_expired_token_is_a_401() {
    let world = AdminWorld::new().await;
    let mut claims = operator(&[TENANT]);
    claims["iat"] = json!(now() - 1200);
    claims["exp"] = json!(now() - 600);
    assert_refused(&world, &mint(Key::Hs256, claims), "TokenExpiredError").await;
}

#[actix_web::test]
async fn a_token_issued_longer_ago_than_max_validity_time_is_a_401() {
    let world = AdminWorld::new().await;
    let mut claims = operator(&[TENANT]);
    claims["iat"] = json!(now() - 7200);
    assert_refused(&world, &mint(Key::Hs256, claims), "TokenExpiredError").await;
}

#[actix_web::test]
async fn a_token_for_another_audience_is_a_401() {
    let world = AdminWorld::new().await;
    let mut claims = user(&["example-admins"]);
    claims["aud"] = json!("some-other-app");
    assert_refused(&world, &mint(Key::Rs256, claims), "IncorrectAudienceError").await;
}

#[actix_web::test]
async fn a_token_of_an_unknown_issuer_or_no_jwt_at_all_is_a_401() {
    let world = AdminWorld::new().await;
    let mut claims = operator(&[TENANT]);
    claims["iss"] = json!("https://elsewhere.test");
    assert_refused(&world, &mint(Key::Hs256, claims), "IssuerUnknownError").await;
    assert_refused(&world, "not-a-jwt", "AuthTokenUndecodedException").await;
}

#[actix_web::test]
async fn a_token_without_sub_is_a_401() {
    let world = AdminWorld::new().await;
    let mut claims = operator(&[TENANT]);
    claims.as_object_mut().expect("claims").remove("sub");
    assert_refused(&world, &mint(Key::Hs256, claims), "MissingClaimError").await;
}

#[actix_web::test]
async fn an_hs256_token_presented_as_the_rs256_issuer_is_a_401() {
    let world = AdminWorld::new().await;
    // Signed with the RS256 public key as an HMAC secret: the classic algorithm confusion.
    let public = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/web/tests/fixtures/test-only-rs256-public.pem"
    ))
    .expect("the public key");
    let key = jsonwebtoken::EncodingKey::from_secret(&public);
    let claims = user(&["example-admins"]);
    let token =
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).expect("a token");
    assert_refused(&world, &token, "AuthTokenUnauthorizedException").await;
}

#[actix_web::test]
async fn a_zuul_admin_claim_from_an_issuer_not_allowed_to_override_is_a_401() {
    let world = AdminWorld::new().await;
    let mut claims = user(&[]);
    claims["zuul"] = json!({"admin": [TENANT]});
    assert_refused(
        &world,
        &mint(Key::Rs256, claims),
        "UnauthorizedZuulAdminClaimError",
    )
    .await;
}

#[actix_web::test]
async fn a_valid_token_for_another_tenant_is_a_403() {
    let world = AdminWorld::new().await;
    let (status, challenge, body) =
        enqueue_with(&world, Some(&mint(Key::Hs256, operator(&["other"])))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], json!("AuthTokenForbiddenException"));
    assert!(challenge.is_none(), "a 403 has no challenge");
    assert!(world.engine.calls().is_empty());
}

#[actix_web::test]
async fn a_valid_token_outside_the_admin_rule_is_a_403_and_inside_it_is_admitted() {
    let world = AdminWorld::new().await;
    let (outsider, _, _) = enqueue_with(&world, Some(&mint(Key::Rs256, user(&["dev"])))).await;
    assert_eq!(outsider, StatusCode::FORBIDDEN);
    let (member, _, body) = enqueue_with(
        &world,
        Some(&mint(Key::Rs256, user(&["dev", "example-admins"]))),
    )
    .await;
    assert_eq!(member, StatusCode::OK, "{body}");
    assert_eq!(body, json!(true));
    assert_eq!(world.engine.calls().len(), 1);
}

#[actix_web::test]
async fn authorizations_say_what_the_token_may_do_on_the_tenant_and_the_root() {
    let world = AdminWorld::new().await;
    let token = mint(Key::Rs256, user(&["example-admins"]));
    let (status, _, tenant) = world
        .send(
            Method::GET,
            "/api/tenant/example/authorizations",
            Some(&token),
            "",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tenant}");
    assert_eq!(
        tenant,
        json!({"zuul": {"admin": true, "permissions": {"read": true, "admin": true}, "scope": ["example"]}})
    );
    let (_, _, root) = world
        .send(Method::GET, "/api/authorizations", Some(&token), "")
        .await;
    assert_eq!(
        root,
        json!({"zuul": {"admin": false, "permissions": {"read": true}, "scope": ["*"]}})
    );
    let (anonymous, _, _) = world
        .send(Method::GET, "/api/authorizations", None, "")
        .await;
    assert_eq!(anonymous, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn info_reports_each_realm_and_the_default_one() {
    let world = AdminWorld::new().await;
    let (_, _, info) = world.send(Method::GET, "/api/info", None, "").await;
    let auth = &info["info"]["capabilities"]["auth"];
    assert_eq!(auth["default_realm"], json!("keycloak"));
    assert_eq!(auth["read_protected"], json!(false));
    assert_eq!(
        auth["realms"]["keycloak"],
        json!({"authority": RS_ISS, "client_id": RS_AUD, "type": "JWT", "driver": "RS256"})
    );
    assert_eq!(
        auth["realms"]["zuul.example.com"]["authority"],
        json!(HS_ISS)
    );
    let (_, _, tenant_info) = world
        .send(Method::GET, "/api/tenant/example/info", None, "")
        .await;
    assert_eq!(
        tenant_info["info"]["capabilities"]["auth"]["default_realm"],
        json!("keycloak")
    );
}

#[actix_web::test]
async fn without_authenticators_the_admin_actions_are_not_there_as_in_zuul() {
    let world = AdminWorld::with_auth(Auth::default()).await;
    let (status, _, body) = world
        .send(Method::POST, ENQUEUE, Some(&admin_token()), BODY)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (_, _, info) = world.send(Method::GET, "/api/info", None, "").await;
    assert_eq!(info["info"]["capabilities"]["auth"]["realms"], json!({}));
    assert!(world.engine.calls().is_empty());
}

#[test]
fn a_missing_or_non_pem_public_key_stops_the_setup_naming_the_authenticator() {
    let dir = tempfile::tempdir().expect("a folder");
    let not_pem = dir.path().join("key.pem");
    std::fs::write(&not_pem, "not a key").expect("a file");
    for path in [dir.path().join("missing.pem"), not_pem] {
        let mut authenticators = super::admin_world::authenticators();
        authenticators[1].key = portcullis_config::server::AuthKey::Rs256 { public_key: path };
        let err = Auth::new(&authenticators, &super::admin_world::tenant_rules()).unwrap_err();
        assert!(
            err.to_string().starts_with("authenticator keycloak:"),
            "{err}"
        );
    }
}
