//! Poller scenarios against real repos, waiting on events and poll rounds, never on time.

use std::path::Path;

use tokio::sync::mpsc;
use tokio::time::timeout;

use super::*;
use crate::merger::testing::{connections, merger, TestRepo};

mod parents;

const DEADLINE: Duration = Duration::from_secs(20);

struct World {
    _dir: tempfile::TempDir,
    repos: std::path::PathBuf,
    events: mpsc::UnboundedReceiver<TriggerEvent>,
    poller: PollerHandle,
}

fn start(dir: tempfile::TempDir, projects: &[&str]) -> World {
    let repos = dir.path().join("repos");
    let (tx, events) = mpsc::unbounded_channel();
    let connection = match connections(&repos).remove("local") {
        Some(portcullis_config::server::Connection::Git(git)) => git,
        None => unreachable!("the test connection exists"),
    };
    let poller = spawn_git_poller(
        "local".into(),
        connection,
        projects.iter().map(|p| p.to_string()).collect(),
        merger(&repos, &dir.path().join("cache")),
        move |event| {
            let _ = tx.send(event);
        },
    );
    World {
        _dir: dir,
        repos,
        events,
        poller,
    }
}

impl World {
    /// Waits until `n` more poll rounds have completed.
    async fn rounds(&self, n: u64) {
        let mut rounds = self.poller.rounds();
        let target = *rounds.borrow() + n;
        timeout(DEADLINE, rounds.wait_for(|r| *r >= target))
            .await
            .expect("poll rounds in time")
            .expect("poller alive");
    }

    /// The next event.
    async fn next_event(&mut self) -> TriggerEvent {
        timeout(DEADLINE, self.events.recv())
            .await
            .expect("an event in time")
            .expect("poller alive")
    }

    /// The next `n` events, sorted by ref.
    async fn next_events(&mut self, n: usize) -> Vec<(String, String, String, String)> {
        let mut got = Vec::new();
        while got.len() < n {
            let event = self.next_event().await;
            assert_eq!(event.event_type, "ref-updated");
            assert_eq!(event.connection, "local");
            got.push((event.project, event.ref_name, event.oldrev, event.newrev));
        }
        got.sort();
        got
    }

    /// Fails if an event arrives within two more poll rounds.
    async fn assert_quiet(&mut self) {
        self.rounds(2).await;
        let extra = self.events.try_recv();
        assert!(extra.is_err(), "unexpected event {extra:?}");
    }
}

fn event(project: &str, r: &str, old: &str, new: &str) -> (String, String, String, String) {
    (project.into(), r.into(), old.into(), new.into())
}

async fn repo(root: &Path, name: &str) -> TestRepo {
    TestRepo::init(&root.join("repos").join(name)).await
}

#[tokio::test]
async fn a_push_a_new_tag_and_a_deleted_branch_become_exactly_three_events() {
    let dir = tempfile::tempdir().unwrap();
    let demo = repo(dir.path(), "demo").await;
    let first = demo.commit(&[("a", "1")], "first").await;
    demo.git(&["branch", "stable"]).await;
    let mut w = start(dir, &["demo"]);
    w.rounds(1).await;
    assert!(w.events.try_recv().is_err(), "the first poll only records");

    let second = demo.commit(&[("a", "2")], "second").await;
    demo.git(&["tag", "v1"]).await;
    demo.git(&["branch", "-D", "stable"]).await;

    let got = w.next_events(3).await;
    let expected = vec![
        event("demo", "refs/heads/master", &first, &second),
        event("demo", "refs/heads/stable", &first, NULL_REV),
        event("demo", "refs/tags/v1", NULL_REV, &second),
    ];
    assert_eq!(got, expected);
    w.assert_quiet().await;
}

#[tokio::test]
async fn a_repo_that_cannot_be_read_does_not_stop_the_others_and_is_baselined_when_it_appears() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let demo = repo(&root, "demo").await;
    demo.commit(&[("a", "1")], "first").await;
    let mut w = start(dir, &["demo", "late"]);
    w.rounds(2).await;

    // Built aside and moved in whole, so no poll sees it half made.
    let staged = TestRepo::init(&root.join("staging")).await;
    let late_first = staged.commit(&[("b", "1")], "first").await;
    std::fs::rename(&staged.path, w.repos.join("late")).unwrap();
    let late = TestRepo {
        path: w.repos.join("late"),
    };
    w.rounds(2).await;
    assert!(
        w.events.try_recv().is_err(),
        "a first successful read only records"
    );
    let late_second = late.commit(&[("b", "2")], "second").await;
    let pushed = demo.commit(&[("a", "2")], "second").await;

    let got = w.next_events(2).await;
    assert_eq!(got[0].0, "demo");
    assert_eq!(got[0].3, pushed);
    assert_eq!(
        got[1],
        event("late", "refs/heads/master", &late_first, &late_second)
    );
}

#[tokio::test]
async fn dropping_the_handle_stops_polling() {
    let dir = tempfile::tempdir().unwrap();
    repo(dir.path(), "demo").await.commit(&[], "first").await;
    let w = start(dir, &["demo"]);
    w.rounds(1).await;
    let mut rounds = w.poller.rounds();

    drop(w.poller);

    let closed = timeout(DEADLINE, rounds.wait_for(|_| false)).await;
    assert!(
        matches!(closed, Ok(Err(_))),
        "the round counter closes with the task"
    );
}

#[test]
fn ref_changes_lists_creates_deletes_and_updates_but_not_unchanged_refs() {
    let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(r, s)| (r.to_string(), s.to_string()))
            .collect()
    };
    let old = map(&[
        ("refs/heads/a", "1"),
        ("refs/heads/b", "2"),
        ("refs/tags/t", "3"),
    ]);
    let new = map(&[
        ("refs/heads/a", "1"),
        ("refs/heads/b", "4"),
        ("refs/heads/c", "5"),
    ]);

    let changes = ref_changes(&old, &new);

    let triple = |r: &str, o: &str, n: &str| (r.to_string(), o.to_string(), n.to_string());
    assert_eq!(
        changes,
        vec![
            triple("refs/heads/c", NULL_REV, "5"),
            triple("refs/tags/t", "3", NULL_REV),
            triple("refs/heads/b", "2", "4"),
        ]
    );
}

/// Collects what the tracing subscriber writes, for tests that count log lines.
#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogBuffer {
    fn count(&self, needle: &str) -> usize {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .matches(needle)
            .count()
    }
}

#[tokio::test]
async fn an_unreadable_repo_is_logged_once_per_failure_streak() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // The test runtime is single-threaded, so the poller task logs through this subscriber.
    let _guard = tracing::subscriber::set_default(subscriber);
    // tracing caches whether each log line is wanted, process-wide. With one subscriber
    // it asks only the current thread's, so a line first reached by a concurrent test
    // (which has none) would stay off here for good; with two live ones it asks both.
    let _second = tracing::Dispatch::new(tracing_subscriber::registry());
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let w = start(dir, &["flaky"]);
    w.rounds(3).await;
    assert_eq!(logs.count("cannot read repo refs"), 1);

    let staged = TestRepo::init(&root.join("staging")).await;
    staged.commit(&[("a", "1")], "first").await;
    std::fs::create_dir_all(&w.repos).unwrap();
    std::fs::rename(&staged.path, w.repos.join("flaky")).unwrap();
    w.rounds(2).await;
    std::fs::remove_dir_all(w.repos.join("flaky")).unwrap();
    w.rounds(3).await;

    assert_eq!(logs.count("repo readable again"), 1);
    assert_eq!(logs.count("cannot read repo refs"), 2);
}

/// A change event as (type, number, patchset, ref, oldrev, depends_on).
type ChangeEvent = (String, u64, String, String, String, Vec<String>);

impl World {
    /// The next `n` events, which must all be change events, sorted by change number.
    async fn next_changes(&mut self, n: usize) -> Vec<ChangeEvent> {
        let mut got = Vec::new();
        while got.len() < n {
            let event = self.next_event().await;
            let change = event.change.expect("a change event, not a ref update");
            assert_eq!(event.newrev, change.patchset);
            got.push((
                event.event_type,
                change.number,
                change.patchset,
                event.ref_name,
                event.oldrev,
                change.depends_on,
            ));
        }
        got.sort_by_key(|e| e.1);
        got
    }

    /// Stops the poller, as a server stop does; answers its folders.
    fn stop(self) -> tempfile::TempDir {
        let World { _dir, poller, .. } = self;
        drop(poller);
        change_book::ChangeBook::forget(&self::book(&_dir));
        _dir
    }

    /// Stops the poller and starts a new one on the same folders, its book read
    /// afresh from the file, as a server restart does.
    fn restart(self, projects: &[&str]) -> World {
        start(self.stop(), projects)
    }
}

fn book(dir: &tempfile::TempDir) -> std::path::PathBuf {
    change_book::book_path(&dir.path().join("cache"), "local")
}

fn master_ref() -> String {
    "refs/heads/master".to_string()
}

fn created(number: u64, sha: &str, target_head: &str, deps: &[&str]) -> ChangeEvent {
    let deps = deps.iter().map(|d| d.to_string()).collect();
    let target = "refs/heads/master".to_string();
    (
        "patchset-created".into(),
        number,
        sha.into(),
        target,
        target_head.into(),
        deps,
    )
}

fn abandoned(number: u64, sha: &str, target_head: &str) -> ChangeEvent {
    let target = "refs/heads/master".to_string();
    (
        "change-abandoned".into(),
        number,
        sha.into(),
        target,
        target_head.into(),
        Vec::new(),
    )
}

#[tokio::test]
async fn a_pushed_review_branch_is_a_change_and_a_force_push_its_next_patchset() {
    let dir = tempfile::tempdir().unwrap();
    let demo = repo(dir.path(), "demo").await;
    let master = demo.commit(&[("a", "1")], "first").await;
    let mut w = start(dir, &["demo"]);
    w.rounds(1).await;

    let message = "Fix it\n\nDepends-On: lib~7\n";
    let one = demo
        .branch_commit("review/master/fix", &master, &[("a", "2")], message)
        .await;
    let got = w.next_changes(1).await;
    assert_eq!(got, vec![created(1, &one, &master, &["lib~7"])]);

    let two = demo
        .branch_commit("review/master/fix", &master, &[("a", "3")], "Fix it again")
        .await;
    let got = w.next_changes(1).await;
    assert_eq!(
        got,
        vec![created(1, &two, &master, &[])],
        "same change, new patchset"
    );
    w.assert_quiet().await;
}

#[tokio::test]
async fn a_deleted_review_branch_abandons_its_change_and_a_merged_one_is_reported_merged() {
    let dir = tempfile::tempdir().unwrap();
    let demo = repo(dir.path(), "demo").await;
    let master = demo.commit(&[("a", "1")], "first").await;
    let book_file = book(&dir);
    let mut w = start(dir, &["demo"]);
    w.rounds(1).await;
    let kept = demo
        .branch_commit("review/master/kept", &master, &[("k", "1")], "Kept")
        .await;
    let gone = demo
        .branch_commit("review/master/gone", &master, &[("g", "1")], "Gone")
        .await;
    let got = w.next_changes(2).await;
    let numbers: Vec<u64> = got.iter().map(|e| e.1).collect();
    assert_eq!(numbers, vec![1, 2]);
    let book = change_book::ChangeBook::shared(book_file).await.unwrap();
    let merged = book
        .lock()
        .await
        .get("demo", "review/master/kept")
        .unwrap()
        .number;
    book.lock().await.set_merged(merged);

    demo.git(&["branch", "-D", "review/master/kept", "review/master/gone"])
        .await;

    let got = w.next_changes(2).await;
    let merged_event = (
        "change-merged".into(),
        merged,
        kept,
        master_ref(),
        master.clone(),
        vec![],
    );
    let mut expected = vec![abandoned(3 - merged, &gone, &master), merged_event];
    expected.sort_by_key(|e| e.1);
    assert_eq!(got, expected);
    w.assert_quiet().await;
    assert!(
        book.lock().await.of_project("demo").is_empty(),
        "both forgotten"
    );
}

#[tokio::test]
async fn changes_pushed_amended_or_deleted_while_down_are_reported_on_the_first_poll() {
    let dir = tempfile::tempdir().unwrap();
    let demo = repo(dir.path(), "demo").await;
    let master = demo.commit(&[("a", "1")], "first").await;
    let mut w = start(dir, &["demo"]);
    demo.branch_commit("review/master/a", &master, &[("a", "2")], "A")
        .await;
    let b = demo
        .branch_commit("review/master/b", &master, &[("b", "1")], "B")
        .await;
    let before: Vec<u64> = w.next_changes(2).await.iter().map(|e| e.1).collect();
    assert_eq!(before, vec![1, 2], "seen before the restart");
    // Down: what happens now must wait for the next start.
    let dir = w.stop();

    let a2 = demo
        .branch_commit("review/master/a", &master, &[("a", "3")], "A again")
        .await;
    demo.git(&["branch", "-D", "review/master/b"]).await;
    let c = demo
        .branch_commit("review/c", &master, &[("c", "1")], "C")
        .await;
    let mut w = start(dir, &["demo"]);

    let got = w.next_changes(3).await;
    let expected = vec![
        created(1, &a2, &master, &[]),
        abandoned(2, &b, &master),
        created(3, &c, &master, &[]),
    ];
    assert_eq!(got, expected, "`review/c` proposes to the default branch");
    w.assert_quiet().await;
}

#[test]
fn a_new_push_to_a_merged_change_s_branch_is_a_new_change() {
    let record = change_book::ChangeRecord {
        number: 4,
        project: "demo".into(),
        branch: "review/master/x".into(),
        target: "master".into(),
        patchset: "aaa".into(),
        merged: true,
        earlier: Vec::new(),
    };
    let heads = |sha: &str| BTreeMap::from([("review/master/x".to_string(), sha.to_string())]);

    let left_behind = change_poll::plan(std::slice::from_ref(&record), &heads("aaa"));
    let pushed_again = change_poll::plan(std::slice::from_ref(&record), &heads("bbb"));

    assert!(
        left_behind.is_empty(),
        "a merged branch that could not be deleted stays quiet"
    );
    let open = change_poll::Step::Open {
        branch: "review/master/x".into(),
        sha: "bbb".into(),
    };
    assert_eq!(pushed_again, vec![open]);
}

#[tokio::test]
async fn the_first_poll_after_a_restart_tells_of_each_open_change_once_with_what_it_needs() {
    let dir = tempfile::tempdir().unwrap();
    let demo = repo(dir.path(), "demo").await;
    let master = demo.commit(&[("a", "1")], "first").await;
    let mut w = start(dir, &["demo"]);
    let a = demo
        .branch_commit("review/master/a", &master, &[("a", "2")], "A")
        .await;
    demo.git(&["checkout", "--quiet", "--detach", &a]).await;
    let b = demo.commit(&[("b", "1")], "B\n\nDepends-On: lib~7\n").await;
    demo.git(&["branch", "review/master/b", &b]).await;
    demo.git(&["checkout", "--quiet", "master"]).await;
    assert_eq!(w.next_changes(2).await.len(), 2, "seen before the restart");
    w.rounds(1).await;

    let mut w = w.restart(&["demo"]);

    let mut told = [w.next_event().await, w.next_event().await];
    told.sort_by_key(|e| e.change.as_ref().map(|c| c.number));
    let kinds: Vec<&str> = told.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(kinds, ["change-known", "change-known"]);
    let b_told = told[1].change.as_ref().unwrap();
    assert_eq!((b_told.number, b_told.patchset.as_str()), (2, b.as_str()));
    assert_eq!(b_told.depends_on, ["lib~7"]);
    assert_eq!(b_told.parents.len(), 1, "B builds on A");
    assert_eq!(
        (
            b_told.parents[0].number,
            b_told.parents[0].patchset.as_str()
        ),
        (1, a.as_str())
    );
    w.rounds(2).await;
    w.assert_quiet().await;
}
