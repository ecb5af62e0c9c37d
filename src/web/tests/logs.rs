//! Serving a build's log files, and refusing paths that lead out of its folder.

use actix_web::http::StatusCode;
use actix_web::{test, App};
use serde_json::Value;

use super::harness::World;
use crate::web::app_config;

/// Sends `GET uri`; returns the status, content type and body text.
async fn get(world: &World, uri: &str) -> (StatusCode, String, String) {
    let app = test::init_service(App::new().configure(app_config(world.state.clone()))).await;
    let response = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
    let status = response.status();
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let kind = if status.is_redirection() {
        header("location")
    } else {
        header("content-type")
    };
    let body = test::read_body(response).await;
    (status, kind, String::from_utf8_lossy(&body).into_owned())
}

#[actix_web::test]
async fn a_builds_job_output_is_served_as_plain_text() {
    let world = World::new().await;
    world.record_build("b1").await;
    world.write_log(
        "b1",
        "job-output.txt",
        "2024-05-01 12:00:00.000000 | hello\n",
    );
    let (status, kind, body) = get(&world, "/logs/b1/job-output.txt").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind, "text/plain; charset=utf-8");
    assert_eq!(body, "2024-05-01 12:00:00.000000 | hello\n");
}

#[actix_web::test]
async fn a_missing_log_file_is_a_404_json_naming_it() {
    let world = World::new().await;
    world.record_build("b1").await;
    world.write_log("b1", "job-output.txt", "x");
    let (status, kind, body) = get(&world, "/logs/b1/nope.txt").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(kind.starts_with("application/json"));
    let body: Value = serde_json::from_str(&body).expect("a JSON body");
    assert_eq!(
        body["description"],
        "Log file nope.txt of build b1 not found"
    );
    let (status, _, _) = get(&world, "/logs/ghost/job-output.txt").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn paths_that_climb_out_of_the_builds_folder_are_refused() {
    let world = World::new().await;
    world.record_build("b1").await;
    world.record_build("b2").await;
    world.write_log("b1", "job-output.txt", "x");
    world.write_log("b2", "secret.txt", "not for b1");
    for uri in [
        "/logs/b1/../b2/secret.txt",
        "/logs/b1/%2e%2e/b2/secret.txt",
        "/logs/b1/sub/../../b2/secret.txt",
        "/logs/b1//etc/passwd",
        "/logs/../b2/secret.txt",
        "/logs/..%2Fb2/secret.txt",
    ] {
        let (status, _, body) = get(&world, uri).await;
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND,
            "{uri} answered {status}"
        );
        assert!(
            !body.contains("not for b1"),
            "{uri} leaked another build's log"
        );
    }
    let (status, _, _) = get(&world, "/logs/b1/../b2/secret.txt").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[cfg(unix)]
#[actix_web::test]
async fn a_symlink_leading_out_of_the_builds_folder_is_not_followed() {
    // Given build b1 whose job left links to another build's file, to
    // another build's folder and to a system file
    let world = World::new().await;
    world.record_build("b1").await;
    world.record_build("b2").await;
    let secret = world.write_log("b2", "secret.txt", "not for b1");
    world.write_log("b1", "job-output.txt", "x");
    let b1 = world.state.logs_dir.join("b1");
    let link = |target: &std::path::Path, name: &str| {
        std::os::unix::fs::symlink(target, b1.join(name)).expect("a symlink");
    };
    link(&secret, "leak.txt");
    link(&world.state.logs_dir.join("b2"), "other");
    link(std::path::Path::new("/etc/passwd"), "passwd");

    // When each link is asked for, then it is as absent as a missing file
    for uri in [
        "/logs/b1/leak.txt",
        "/logs/b1/other/secret.txt",
        "/logs/b1/other/",
        "/logs/b1/passwd",
    ] {
        let (status, _, body) = get(&world, uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {body}");
        assert!(!body.contains("not for b1"), "{uri} leaked: {body}");
        assert!(!body.contains("root:"), "{uri} leaked: {body}");
    }
}

#[cfg(unix)]
#[actix_web::test]
async fn a_symlink_within_the_builds_folder_is_served() {
    // Given build b1 with a link to its own job output
    let world = World::new().await;
    world.record_build("b1").await;
    world.write_log("b1", "job-output.txt", "mine\n");
    let b1 = world.state.logs_dir.join("b1");
    std::os::unix::fs::symlink(b1.join("job-output.txt"), b1.join("latest.txt"))
        .expect("a symlink");

    // When the link is asked for, then the file it names is served
    let (status, _, body) = get(&world, "/logs/b1/latest.txt").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "mine\n"));
}

#[actix_web::test]
async fn the_logs_of_a_build_no_tenant_recorded_are_a_404_json() {
    // Given log files of a build the history does not know
    let world = World::new().await;
    world.write_log("stray", "job-output.txt", "x");

    // When they are asked for, then no tenant can vouch for them
    let (status, kind, body) = get(&world, "/logs/stray/job-output.txt").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(kind.starts_with("application/json"), "{kind}");
    let body: Value = serde_json::from_str(&body).expect("a JSON body");
    assert_eq!(body["error"], "UnknownBuild");
}

#[actix_web::test]
async fn a_builds_folder_is_listed_as_an_html_index() {
    let world = World::new().await;
    world.record_build("b1").await;
    world.write_log("b1", "job-output.txt", "x");
    world.write_log("b1", "zuul-info/inventory.yaml", "all: {}");
    world.write_log("b1", "<odd>.txt", "x");
    let (status, kind, body) = get(&world, "/logs/b1/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/html"));
    assert!(
        body.contains(r#"<a href="zuul-info/">zuul-info/</a>"#),
        "{body}"
    );
    assert!(body.contains(r#"<a href="job-output.txt">job-output.txt</a>"#));
    assert!(body.contains(r#"<a href="%3Codd%3E.txt">&lt;odd&gt;.txt</a>"#));
    let (status, _, body) = get(&world, "/logs/b1/zuul-info/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("inventory.yaml"));
}

#[actix_web::test]
async fn a_folder_without_its_trailing_slash_redirects_to_it() {
    let world = World::new().await;
    world.record_build("b1").await;
    world.write_log("b1", "zuul-info/inventory.yaml", "all: {}");
    let (status, location, _) = get(&world, "/logs/b1").await;
    assert!(status.is_redirection());
    assert_eq!(location, "/logs/b1/");
    let (status, location, _) = get(&world, "/logs/b1/zuul-info").await;
    assert!(status.is_redirection());
    assert_eq!(location, "/logs/b1/zuul-info/");
}
