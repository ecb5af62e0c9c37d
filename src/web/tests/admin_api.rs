//! The admin endpoints with Zuul's paths and bodies, answered by the real
//! handlers over a fake engine that records what it is asked.

use actix_web::http::{Method, StatusCode};
use serde_json::json;

use super::admin_world::{admin_token, AdminWorld, Call};
use crate::web::admin::engine::{AutoholdRequest, DequeueRequest, EnqueueRequest, PromoteRequest};

const PROJECT: &str = "/api/tenant/example/project/org/project";

fn enqueue_request() -> EnqueueRequest {
    EnqueueRequest {
        tenant: "example".into(),
        pipeline: "check".into(),
        project: "org/project".into(),
        ..Default::default()
    }
}

#[actix_web::test]
async fn an_admin_enqueues_a_change_and_the_engine_gets_the_whole_project_name() {
    let world = AdminWorld::new().await;
    let body = json!({"trigger": "gerrit", "pipeline": "check", "change": "1,1"});
    let (status, answer) = world
        .post_as_admin(&format!("{PROJECT}/enqueue"), body)
        .await;
    assert_eq!((status, answer), (StatusCode::OK, json!(true)));
    let expected = EnqueueRequest {
        change: Some("1,1".into()),
        ..enqueue_request()
    };
    assert_eq!(world.engine.calls(), [Call::Enqueue(expected)]);
}

#[actix_web::test]
async fn an_admin_enqueues_a_ref_with_its_revisions() {
    let world = AdminWorld::new().await;
    let body =
        json!({"pipeline": "check", "ref": "refs/heads/main", "oldrev": "aaaa", "newrev": "bbbb"});
    let (status, _) = world
        .post_as_admin(&format!("{PROJECT}/enqueue"), body)
        .await;
    assert_eq!(status, StatusCode::OK);
    let expected = EnqueueRequest {
        r#ref: Some("refs/heads/main".into()),
        oldrev: Some("aaaa".into()),
        newrev: Some("bbbb".into()),
        ..enqueue_request()
    };
    assert_eq!(world.engine.calls(), [Call::Enqueue(expected)]);
}

#[actix_web::test]
async fn an_admin_dequeues_a_change_and_a_ref() {
    let world = AdminWorld::new().await;
    let uri = format!("{PROJECT}/dequeue");
    let (by_change, _) = world
        .post_as_admin(&uri, json!({"pipeline": "gate", "change": "2,1"}))
        .await;
    let (by_ref, _) = world
        .post_as_admin(&uri, json!({"pipeline": "gate", "ref": "refs/tags/v1"}))
        .await;
    assert_eq!((by_change, by_ref), (StatusCode::OK, StatusCode::OK));
    let base = DequeueRequest {
        tenant: "example".into(),
        pipeline: "gate".into(),
        project: "org/project".into(),
        ..Default::default()
    };
    let change = DequeueRequest {
        change: Some("2,1".into()),
        ..base.clone()
    };
    let r#ref = DequeueRequest {
        r#ref: Some("refs/tags/v1".into()),
        ..base
    };
    assert_eq!(
        world.engine.calls(),
        [Call::Dequeue(change), Call::Dequeue(r#ref)]
    );
}

#[actix_web::test]
async fn an_admin_promotes_changes_in_the_order_given() {
    let world = AdminWorld::new().await;
    let body = json!({"pipeline": "gate", "changes": ["2,1", "1,1"]});
    let (status, answer) = world
        .post_as_admin("/api/tenant/example/promote", body)
        .await;
    assert_eq!((status, answer), (StatusCode::OK, json!(true)));
    let expected = PromoteRequest {
        tenant: "example".into(),
        pipeline: "gate".into(),
        changes: vec!["2,1".into(), "1,1".into()],
    };
    assert_eq!(world.engine.calls(), [Call::Promote(expected)]);
}

#[actix_web::test]
async fn an_admin_adds_an_autohold_that_anyone_may_then_list_and_read() {
    let world = AdminWorld::new().await;
    let body = json!({"change": null, "ref": "refs/heads/.*", "job": "unit", "reason": "debugging", "count": 2, "node_hold_expiration": 3600});
    let (status, answer) = world
        .post_as_admin(&format!("{PROJECT}/autohold"), body)
        .await;
    assert_eq!((status, answer), (StatusCode::OK, json!(true)));
    let expected = AutoholdRequest {
        tenant: "example".into(),
        project: "org/project".into(),
        job: "unit".into(),
        r#ref: Some("refs/heads/.*".into()),
        change: None,
        reason: "debugging".into(),
        count: 2,
        node_hold_expiration: Some(3600),
    };
    assert_eq!(world.engine.calls(), [Call::Autohold(expected)]);
    let (status, _, list) = world
        .send(Method::GET, "/api/tenant/example/autohold", None, "")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list[0]["project"], json!("org/project"));
    let id = list[0]["id"].as_str().expect("an id").to_string();
    for field in [
        "tenant",
        "job",
        "ref_filter",
        "max_count",
        "current_count",
        "reason",
        "node_expiration",
        "expired",
        "nodes",
    ] {
        assert!(
            list[0].get(field).is_some(),
            "Zuul's autohold field {field} is missing"
        );
    }
    let (status, _, one) = world
        .send(
            Method::GET,
            &format!("/api/tenant/example/autohold/{id}"),
            None,
            "",
        )
        .await;
    assert_eq!((status, &one["id"]), (StatusCode::OK, &json!(id)));
}

#[actix_web::test]
async fn the_autohold_list_filters_by_project_suffix_as_zuul_does() {
    let world = AdminWorld::new().await;
    world
        .engine
        .add_hold("1", "example", "git.test/org/project");
    world.engine.add_hold("2", "example", "git.test/org/config");
    let (_, _, by_query) = world
        .send(
            Method::GET,
            "/api/tenant/example/autohold?project=org/config",
            None,
            "",
        )
        .await;
    assert_eq!(by_query.as_array().map(Vec::len), Some(1));
    assert_eq!(by_query[0]["id"], json!("2"));
    let (_, _, by_path) = world
        .send(Method::GET, &format!("{PROJECT}/autohold"), None, "")
        .await;
    assert_eq!(by_path[0]["id"], json!("1"));
}

#[actix_web::test]
async fn an_admin_deletes_an_autohold_with_a_204_and_a_second_delete_is_a_404() {
    let world = AdminWorld::new().await;
    world
        .engine
        .add_hold("0000000001", "example", "org/project");
    let uri = "/api/tenant/example/autohold/0000000001";
    let (anonymous, _, _) = world.send(Method::DELETE, uri, None, "").await;
    assert_eq!(anonymous, StatusCode::UNAUTHORIZED);
    let (status, _, body) = world
        .send(Method::DELETE, uri, Some(&admin_token()), "")
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::NO_CONTENT, serde_json::Value::Null)
    );
    assert_eq!(
        world.engine.calls(),
        [Call::DeleteHold("0000000001".into())]
    );
    let (again, _, body) = world
        .send(Method::DELETE, uri, Some(&admin_token()), "")
        .await;
    assert_eq!(again, StatusCode::NOT_FOUND);
    assert_eq!(
        body["description"],
        json!("Hold request 0000000001 not found.")
    );
}

#[actix_web::test]
async fn another_tenants_hold_is_a_404_so_as_not_to_reveal_it() {
    let world = AdminWorld::new().await;
    world.engine.add_hold("7", "other", "org/project");
    let (read, _, _) = world
        .send(Method::GET, "/api/tenant/example/autohold/7", None, "")
        .await;
    let (delete, _, _) = world
        .send(
            Method::DELETE,
            "/api/tenant/example/autohold/7",
            Some(&admin_token()),
            "",
        )
        .await;
    assert_eq!(
        (read, delete),
        (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND)
    );
    assert!(world.engine.calls().is_empty());
}

#[actix_web::test]
async fn bad_bodies_are_400s_that_name_the_problem() {
    let world = AdminWorld::new().await;
    let enqueue = format!("{PROJECT}/enqueue");
    let cases = [
        (enqueue.as_str(), "{not json", "not JSON"),
        (
            enqueue.as_str(),
            r#"{"change": "1,1"}"#,
            "pipeline is missing",
        ),
        (
            enqueue.as_str(),
            r#"{"pipeline": "check", "change": "1,1", "ref": "refs/heads/main"}"#,
            "mutually exclusive",
        ),
        (
            "/api/tenant/example/project/org/project/dequeue",
            r#"{"pipeline": "check"}"#,
            "either change or ref",
        ),
        (
            "/api/tenant/example/promote",
            r#"{"pipeline": "gate"}"#,
            "changes must be a list",
        ),
        (
            "/api/tenant/example/project/org/project/autohold",
            r#"{"job": "unit", "reason": "r", "count": -1}"#,
            "0 or more",
        ),
    ];
    for (uri, body, why) in cases {
        let (status, _, answer) = world
            .send(Method::POST, uri, Some(&admin_token()), body)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri} {body}: {answer}");
        assert_eq!(answer["error"], json!("BadRequest"));
        let description = answer["description"].as_str().expect("a description");
        assert!(description.contains(why), "{uri} {body}: {description}");
    }
    assert!(
        world.engine.calls().is_empty(),
        "a bad body reached the engine"
    );
}

#[actix_web::test]
async fn an_unknown_tenant_is_a_404_even_before_the_token_is_looked_at() {
    let world = AdminWorld::new().await;
    let (status, _, body) = world
        .send(Method::POST, "/api/tenant/nope/promote", None, "{}")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"error": "UnknownTenant", "description": "Unknown tenant nope"})
    );
}

#[actix_web::test]
async fn unknown_projects_are_404s_and_unknown_pipelines_and_changes_are_400s_naming_them() {
    let world = AdminWorld::new().await;
    let cases = [
        (
            "/api/tenant/example/project/org/nope/enqueue",
            json!({"pipeline": "check", "change": "1,1"}),
            404,
            "UnknownProject",
            "Unknown project org/nope",
        ),
        (
            "/api/tenant/example/project/org/project/enqueue",
            json!({"pipeline": "nightly", "change": "1,1"}),
            400,
            "UnknownPipeline",
            "Unknown pipeline nightly",
        ),
        (
            "/api/tenant/example/project/org/project/dequeue",
            json!({"pipeline": "gate", "change": "9,9"}),
            400,
            "UnknownChange",
            "Unknown change 9,9",
        ),
        (
            "/api/tenant/example/promote",
            json!({"pipeline": "gate", "changes": ["1,1", "8,1"]}),
            400,
            "UnknownChange",
            "Unknown change 8,1",
        ),
    ];
    for (uri, body, code, error, description) in cases {
        let (status, answer) = world.post_as_admin(uri, body).await;
        assert_eq!(status.as_u16(), code, "{uri}: {answer}");
        assert_eq!(
            answer,
            json!({"error": error, "description": description}),
            "{uri}"
        );
    }
}

#[actix_web::test]
async fn a_get_on_an_action_is_a_405_and_a_preflight_is_answered_for_browsers() {
    let world = AdminWorld::new().await;
    let uri = format!("{PROJECT}/enqueue");
    let (status, _, _) = world
        .send(Method::GET, &uri, Some(&admin_token()), "")
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, headers, _) = world.send(Method::OPTIONS, &uri, None, "").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let allowed = headers
        .get("Access-Control-Allow-Headers")
        .expect("allowed headers");
    assert!(allowed.to_str().expect("ASCII").contains("Authorization"));
}

#[actix_web::test]
async fn a_read_protected_tenants_holds_need_a_token_with_access() {
    let mut rules = super::admin_world::tenant_rules();
    rules.tenants[0].options.anonymous_read_access = false;
    let auth = crate::web::Auth::new(&super::admin_world::authenticators(), &rules).expect("auth");
    let world = AdminWorld::with_auth(auth).await;
    let (anonymous, _, _) = world
        .send(Method::GET, "/api/tenant/example/autohold", None, "")
        .await;
    assert_eq!(anonymous, StatusCode::UNAUTHORIZED);
    let (admin, _, list) = world
        .send(
            Method::GET,
            "/api/tenant/example/autohold",
            Some(&admin_token()),
            "",
        )
        .await;
    assert_eq!((admin, list), (StatusCode::OK, json!([])));
}
