//! The admin API end to end over the real engine: the harness's tenant (two
//! projects, no pipelines) answers the commands itself.

use actix_web::http::{Method, StatusCode};
use serde_json::json;

use super::admin_world::{admin_token, AdminWorld};

#[actix_web::test]
async fn the_real_engine_refuses_an_enqueue_into_a_pipeline_it_does_not_have() {
    let world = AdminWorld::over_the_real_engine().await;
    let body = json!({"pipeline": "check", "change": "1,1"});
    let uri = "/api/tenant/example/project/org/project/enqueue";
    let (status, answer) = world.post_as_admin(uri, body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(
        answer,
        json!({"error": "UnknownPipeline", "description": "Unknown pipeline check"})
    );
}

#[actix_web::test]
async fn an_autohold_lives_in_the_real_engine_from_creation_to_deletion() {
    let world = AdminWorld::over_the_real_engine().await;
    let body = json!({"job": "unit", "reason": "debugging", "count": 1, "change": null, "ref": null, "node_hold_expiration": null});
    let (status, answer) = world
        .post_as_admin("/api/tenant/example/project/org/project/autohold", body)
        .await;
    assert_eq!((status, answer), (StatusCode::OK, json!(true)));
    let (_, _, list) = world
        .send(Method::GET, "/api/tenant/example/autohold", None, "")
        .await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(
        (&list[0]["job"], &list[0]["max_count"]),
        (&json!("unit"), &json!(1))
    );
    let uri = format!(
        "/api/tenant/example/autohold/{}",
        list[0]["id"].as_str().expect("an id")
    );
    let (read, _, one) = world.send(Method::GET, &uri, None, "").await;
    assert_eq!(
        (read, &one["reason"]),
        (StatusCode::OK, &json!("debugging"))
    );
    let (deleted, _, _) = world
        .send(Method::DELETE, &uri, Some(&admin_token()), "")
        .await;
    assert_eq!(deleted, StatusCode::NO_CONTENT);
    let (_, _, after) = world
        .send(Method::GET, "/api/tenant/example/autohold", None, "")
        .await;
    assert_eq!(after, json!([]));
}

#[actix_web::test]
async fn the_real_engine_names_an_unknown_project_of_an_autohold_with_a_404() {
    let world = AdminWorld::over_the_real_engine().await;
    let body = json!({"job": "unit", "reason": "r", "count": 1});
    let (status, answer) = world
        .post_as_admin("/api/tenant/example/project/org/nope/autohold", body)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert_eq!(
        answer,
        json!({"error": "UnknownProject", "description": "Unknown project org/nope"})
    );
}
