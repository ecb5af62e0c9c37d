//! The REST API, answered by the real handlers.

use actix_web::http::StatusCode;
use actix_web::{test, App};
use serde_json::{json, Value};

use super::harness::{World, TENANT};
use crate::web::app_config;

/// Sends `GET uri` to a fresh app over `world`; returns the status and JSON body.
async fn get(world: &World, uri: &str) -> (StatusCode, Value) {
    let app = test::init_service(App::new().configure(app_config(world.state.clone()))).await;
    let response = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
    let status = response.status();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        kind.starts_with("application/json"),
        "{uri} answered {kind}"
    );
    (status, test::read_body_json(response).await)
}

#[actix_web::test]
async fn tenants_are_listed_with_their_project_count_and_queue_length() {
    let world = World::new().await;
    let (status, body) = get(&world, "/api/tenants").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!([{"name": TENANT, "projects": 2, "queue": 0}]));
}

#[actix_web::test]
async fn info_offers_job_history_and_the_tenant_info_names_its_tenant() {
    let world = World::new().await;
    let (_, info) = get(&world, "/api/info").await;
    assert_eq!(info["info"]["capabilities"]["job_history"], json!(true));
    assert!(info["info"].get("tenant").is_none());
    let (status, tenant_info) = get(&world, "/api/tenant/example/info").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tenant_info["info"]["tenant"], json!(TENANT));
}

#[actix_web::test]
async fn a_tenants_status_has_zuuls_top_level_fields() {
    let world = World::new().await;
    let (status, body) = get(&world, "/api/tenant/example/status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["pipelines"], json!([]));
    assert_eq!(body["trigger_event_queue"]["length"], json!(0));
    assert!(body["zuul_version"].is_string());
}

#[actix_web::test]
async fn an_unknown_tenant_is_a_404_whose_json_names_it() {
    let world = World::new().await;
    for uri in [
        "/api/tenant/nope/status",
        "/api/tenant/nope/info",
        "/api/tenant/nope/builds",
        "/api/tenant/nope/buildsets",
        "/api/tenant/nope/build/x",
        "/api/tenant/nope/buildset/x",
    ] {
        let (status, body) = get(&world, uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(body["error"], json!("UnknownTenant"), "{uri}");
        assert_eq!(body["description"], json!("Unknown tenant nope"), "{uri}");
    }
}

#[actix_web::test]
async fn builds_are_listed_newest_first_in_zuuls_format() {
    let world = World::new().await;
    world.seed_history().await;
    let (status, body) = get(&world, "/api/tenant/example/builds").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = body
        .as_array()
        .expect("a list")
        .iter()
        .map(|b| b["job_name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["unit", "lint"]);
    let lint = &body[1];
    assert_eq!(lint["uuid"], json!("bs1-lint"));
    assert_eq!(lint["result"], json!("SUCCESS"));
    assert_eq!(lint["start_time"], json!("2024-05-01T12:00:01"));
    assert_eq!(lint["end_time"], json!("2024-05-01T12:01:31"));
    assert_eq!(lint["duration"], json!(90.5));
    assert_eq!(lint["pipeline"], json!("check"));
    assert_eq!(lint["event_id"], json!("ev1"));
    assert_eq!(lint["buildset"], json!({"uuid": "bs1"}));
    assert_eq!(lint["artifacts"], json!([]));
    assert_eq!(lint["provides"], json!([]));
    assert!(lint["_id"].is_i64());
    assert_eq!(
        lint["ref"],
        json!({"project": "org/project", "branch": "main", "change": null, "patchset": null,
               "ref": "refs/heads/main", "oldrev": "aaaa", "newrev": "bbbb", "ref_url": null})
    );
}

#[actix_web::test]
async fn builds_are_filtered_with_zuuls_query_parameters() {
    let world = World::new().await;
    world.seed_history().await;
    let (_, failed) = get(&world, "/api/tenant/example/builds?result=FAILURE").await;
    assert_eq!(failed.as_array().map(Vec::len), Some(1));
    assert_eq!(failed[0]["job_name"], json!("unit"));
    let (_, one) = get(&world, "/api/tenant/example/builds?limit=1&skip=1").await;
    assert_eq!(one.as_array().map(Vec::len), Some(1));
    assert_eq!(one[0]["job_name"], json!("lint"));
}

#[actix_web::test]
async fn a_bad_filter_is_a_400_whose_json_says_what_is_wrong() {
    let world = World::new().await;
    let (status, body) = get(&world, "/api/tenant/example/builds?limit=many").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], json!("BadRequest"));
    let why = body["description"].as_str().unwrap_or("");
    assert!(why.contains("limit"), "{why}");
    let (status, _) = get(&world, "/api/tenant/example/buildsets?colour=red").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn one_build_carries_its_buildsets_refs() {
    let world = World::new().await;
    world.seed_history().await;
    let (status, build) = get(&world, "/api/tenant/example/build/bs1-unit").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(build["result"], json!("FAILURE"));
    assert_eq!(build["voting"], json!(false));
    assert_eq!(
        build["log_url"],
        json!("http://portcullis.test/logs/bs1-unit/")
    );
    assert_eq!(build["buildset"]["uuid"], json!("bs1"));
    assert_eq!(
        build["buildset"]["refs"][0]["project"],
        json!("org/project")
    );
}

#[actix_web::test]
async fn an_unknown_build_or_buildset_is_a_404_naming_it() {
    let world = World::new().await;
    let (status, body) = get(&world, "/api/tenant/example/build/ghost").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"error": "UnknownBuild", "description": "Build ghost not found in tenant example"})
    );
    let (status, body) = get(&world, "/api/tenant/example/buildset/ghost").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], json!("UnknownBuildset"));
}

#[actix_web::test]
async fn buildsets_are_listed_and_one_buildset_comes_with_its_builds() {
    let world = World::new().await;
    world.seed_history().await;
    let (_, list) = get(&world, "/api/tenant/example/buildsets").await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["uuid"], json!("bs1"));
    assert_eq!(list[0]["result"], json!("FAILURE"));
    assert_eq!(
        list[0]["first_build_start_time"],
        json!("2024-05-01T12:00:01")
    );
    assert_eq!(list[0]["refs"][0]["branch"], json!("main"));
    assert!(list[0].get("builds").is_none());
    let (status, one) = get(&world, "/api/tenant/example/buildset/bs1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["message"], json!("Build failed."));
    let jobs: Vec<&str> = one["builds"]
        .as_array()
        .expect("builds")
        .iter()
        .map(|b| b["job_name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(jobs, ["lint", "unit"]);
}

#[actix_web::test]
async fn a_broken_store_is_a_500_with_a_json_body() {
    let world = World::new().await;
    let db = world.db_path.display().to_string();
    tokio::task::spawn_blocking(move || {
        use diesel::{Connection, RunQueryDsl};
        let mut conn = diesel::SqliteConnection::establish(&db).expect("the test database");
        diesel::sql_query("DROP TABLE zuul_build")
            .execute(&mut conn)
            .expect("the table dropped");
    })
    .await
    .expect("the blocking task");
    let (status, body) = get(&world, "/api/tenant/example/builds").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["error"], json!("StoreError"));
}

#[actix_web::test]
async fn an_unknown_api_path_is_a_404_json() {
    let world = World::new().await;
    let (status, body) = get(&world, "/api/nothing/here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["description"], json!("Nothing at /api/nothing/here"));
}
