//! What a finished buildset tells its change (issue 11, item 6): Zuul's
//! report layout, stored with the buildset for the REST API to show.

use super::fakes::Behaviour;
use super::harness::{Harness, WEB_ROOT};
use crate::port::StoreRecord;
use crate::result::BuildResult::*;

const UNIT_AND_NON_VOTING_LINT: &str = "- job: {name: unit}\n\
- job: {name: lint, voting: false}\n\
- project:\n    check:\n      jobs: [unit, lint]\n";

/// The stored buildset's uuid and message, and each job's build uuid, once it finished.
async fn finished_buildset(given: &Harness) -> (String, String, Vec<(String, String)>) {
    let records = given
        .store
        .until(|r| {
            r.iter()
                .any(|r| matches!(r, StoreRecord::BuildsetFinished { .. }))
        })
        .await;
    let mut builds = Vec::new();
    let mut finished = None;
    for record in records {
        match record {
            StoreRecord::BuildStarted { uuid, job_name, .. } => builds.push((job_name, uuid)),
            StoreRecord::BuildsetFinished { uuid, message, .. } => finished = Some((uuid, message)),
            _ => {}
        }
    }
    let (uuid, message) = finished.expect("a finished buildset");
    (uuid, message, builds)
}

#[actix::test]
async fn a_finished_buildset_stores_the_pipeline_message_its_page_and_a_line_per_job() {
    // Given a change checked by a voting job and a failing non-voting one
    let given = Harness::gating(UNIT_AND_NON_VOTING_LINT);
    given.executor.set("lint", Behaviour::End(Failure));

    // When its buildset finishes
    given.enqueue("check", "demo", 1, &[]).await;
    let (buildset, message, builds) = finished_buildset(&given).await;

    // Then the stored report reads as Zuul's: the message, the page, the jobs
    let lines: Vec<&str> = message.lines().collect();
    let page = format!("{WEB_ROOT}t/example/buildset/{buildset}");
    assert_eq!(
        lines[..4],
        ["Build succeeded.", "", page.as_str(), ""],
        "{message}"
    );
    let build_of = |job: &str| builds.iter().find(|(j, _)| j == job).unwrap().1.clone();
    let unit = format!("- unit logs/{}/ : SUCCESS in ", build_of("unit"));
    let lint = format!("- lint logs/{}/ : FAILURE in ", build_of("lint"));
    assert!(lines[4].starts_with(&unit), "{message}");
    assert!(lines[5].starts_with(&lint), "{message}");
    assert!(lines[5].ends_with("s (non-voting)"), "{message}");
    assert_eq!(lines.len(), 6, "{message}");
}

#[actix::test]
async fn a_dequeued_item_stores_the_dequeue_message_and_its_page() {
    // Given a change whose only job is held
    let given = Harness::gating("- job: {name: unit}\n- project:\n    check: {jobs: [unit]}\n");
    given.executor.hold("unit");
    given.enqueue("check", "demo", 1, &[]).await;
    given.started(1).await;

    // When an admin dequeues it
    let request = crate::admin::DequeueRequest {
        tenant: "example".into(),
        pipeline: "check".into(),
        project: "demo".into(),
        change: Some("1".into()),
        r#ref: None,
    };
    given.engine.dequeue(request).await.unwrap();
    let (buildset, message, _) = finished_buildset(&given).await;

    // Then its report opens with the pipeline's dequeue message and page
    let page = format!("{WEB_ROOT}t/example/buildset/{buildset}");
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(
        lines[..3],
        ["Build canceled.", "", page.as_str()],
        "{message}"
    );
    assert!(lines.iter().all(|l| !l.contains("SUCCESS")), "{message}");
}
