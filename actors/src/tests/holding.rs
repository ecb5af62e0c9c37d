//! `hold-following-changes`: in a dependent pipeline, the items behind an
//! item start no jobs until its holding jobs succeeded (Zuul's job attribute).

use super::fakes::Behaviour;
use super::harness::{merged, Harness};
use crate::port::StoreRecord;
use crate::result::BuildResult::*;

/// The first build start of change `later`'s buildset comes after the end of
/// `job` for change `earlier`, in the store's record order.
fn started_after_end_of(records: &[StoreRecord], later: u64, job: &str, earlier: u64) -> bool {
    let buildset_of = |n: u64| {
        records.iter().find_map(|r| match r {
            StoreRecord::BuildsetStarted { uuid, item, .. }
                if item.change.as_ref().is_some_and(|c| c.number == n) =>
            {
                Some(uuid.clone())
            }
            _ => None,
        })
    };
    let (early, late) = (buildset_of(earlier), buildset_of(later));
    let build_of = records.iter().find_map(|r| match r {
        StoreRecord::BuildStarted {
            buildset_uuid,
            uuid,
            job_name,
            ..
        } if Some(buildset_uuid) == early.as_ref() && job_name == job => Some(uuid.clone()),
        _ => None,
    });
    let end = records.iter().position(
        |r| matches!(r, StoreRecord::BuildFinished { uuid, .. } if Some(uuid) == build_of.as_ref()),
    );
    let start = records.iter().position(|r| {
        matches!(r, StoreRecord::BuildStarted { buildset_uuid, .. } if Some(buildset_uuid) == late.as_ref())
    });
    matches!((end, start), (Some(end), Some(start)) if start > end)
}

#[actix::test]
async fn a_job_that_holds_following_changes_must_succeed_before_the_changes_behind_start() {
    let config = "
- job: {name: unit, hold-following-changes: true}
- job: {name: lint}
- project:
    gate: {jobs: [unit, lint]}
";
    let given = Harness::gating(config);
    given.executor.hold("unit");
    for number in 1..=3 {
        given.enqueue("gate", "demo", number, &[]).await;
    }
    given.running(1).await;

    given.executor.release("unit");

    assert_eq!(merged(&given.reporter.until(3).await), vec![1, 2, 3]);
    let records = given.store.until(|r| !r.is_empty()).await;
    assert!(started_after_end_of(&records, 2, "unit", 1), "{records:#?}");
    assert!(started_after_end_of(&records, 3, "unit", 2), "{records:#?}");
}

#[actix::test]
async fn items_behind_a_failing_holding_job_start_once_it_left() {
    let config = "
- job: {name: unit, hold-following-changes: true}
- project:
    gate: {jobs: [unit]}
";
    let given = Harness::gating(config);
    given.executor.set_for("unit", 1, Behaviour::End(Failure));
    given.executor.hold("unit");
    given.enqueue("gate", "demo", 1, &[]).await;
    given.enqueue("gate", "demo", 2, &[]).await;
    given.running(1).await;

    given.executor.release("unit");

    let reports = given.reporter.until(2).await;
    assert_eq!(reports, vec![(1, Failure, false), (2, Success, true)]);
    assert_eq!(given.merger.states_of(2), vec![vec![2]], "2 never ran on 1");
}
