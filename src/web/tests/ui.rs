//! The UI pages and their static files.

use actix_web::http::StatusCode;
use actix_web::{test as actix_test, App};

use super::harness::World;
use crate::web::app_config;
use crate::web::ui::render;

/// Sends `GET uri`; returns the status, the location or content type, and the body.
async fn get(world: &World, uri: &str) -> (StatusCode, String, String) {
    let app = actix_test::init_service(App::new().configure(app_config(world.state.clone()))).await;
    let response =
        actix_test::call_service(&app, actix_test::TestRequest::get().uri(uri).to_request()).await;
    let status = response.status();
    let name = if status.is_redirection() {
        "location"
    } else {
        "content-type"
    };
    let header = response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = actix_test::read_body(response).await;
    (status, header, String::from_utf8_lossy(&body).into_owned())
}

#[actix_web::test]
async fn the_root_redirects_to_the_first_tenants_status() {
    let world = World::new().await;
    let (status, location, _) = get(&world, "/").await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(location, "/t/example/status");
}

#[actix_web::test]
async fn each_page_is_html_that_names_its_page_and_tenant() {
    let world = World::new().await;
    for (uri, page) in [
        ("/t/example/status", "status"),
        ("/t/example/builds", "builds"),
        ("/t/example/buildsets", "buildsets"),
        ("/t/example/build/b1", "build"),
        ("/t/example/stream/b1", "build"),
        ("/t/example/buildset/bs1", "buildset"),
    ] {
        let (status, kind, body) = get(&world, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(kind.starts_with("text/html"), "{uri}");
        let main = format!(r#"id="app" data-page="{page}" data-tenant="example""#);
        assert!(body.contains(&main), "{uri}: {body}");
    }
}

#[actix_web::test]
async fn pages_of_an_unknown_tenant_or_page_are_404() {
    let world = World::new().await;
    for uri in ["/t/nope/status", "/t/example/nothing", "/t/example/job/x"] {
        let (status, _, _) = get(&world, uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
    }
}

#[actix_web::test]
async fn the_script_and_style_are_served_from_the_binary() {
    let world = World::new().await;
    let (status, kind, body) = get(&world, "/static/app.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/javascript"));
    assert!(body.contains("console-stream"));
    let (status, kind, _) = get(&world, "/static/style.css").await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/css"));
    let (status, _, _) = get(&world, "/static/missing.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[test]
fn names_in_a_page_are_html_escaped() {
    let page = render("build", "t", "<script>", "../../../");
    assert!(page.contains(r#"data-uuid="&lt;script&gt;""#));
    assert!(!page.contains("<script>\""));
}
