//! Merge reports against real upstream repos (non-bare with the target checked
//! out, and bare), checked against the speculative states the changes were tested in.

use std::path::PathBuf;

use portcullis_actors::change::{MergeMode, MergeRequest, Report, Reporter};
use portcullis_actors::BuildResult;

use super::GitReporter;
use crate::drivers::git::change_book::{book_path, ChangeBook};
use crate::merger::testing::{change_item, merger, TestRepo};
use crate::merger::Merger;

struct World {
    _dir: tempfile::TempDir,
    root: PathBuf,
    merger: Merger,
    reporter: GitReporter,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let merger = merger(&root.join("repos"), &root.join("cache"));
    ChangeBook::forget(&book_path(merger.cache_dir(), "local"));
    World {
        reporter: GitReporter::new(merger.clone()),
        _dir: dir,
        root,
        merger,
    }
}

/// Change `number` of `demo`: the review branch `review/<name>` at `sha`.
struct Change {
    number: u64,
    sha: String,
}

impl World {
    async fn repo(&self, name: &str) -> TestRepo {
        TestRepo::init(&self.root.join("repos").join(name)).await
    }

    /// Proposes `review/<name>` of `project` (already pushed at `sha`) as a change to master.
    async fn propose(&self, project: &str, name: &str, sha: &str) -> Change {
        let book = ChangeBook::shared(book_path(self.merger.cache_dir(), "local"));
        let branch = format!("review/{name}");
        let number = book
            .await
            .unwrap()
            .lock()
            .await
            .open(project, &branch, "master", sha);
        Change {
            number,
            sha: sha.to_string(),
        }
    }

    /// Reports `change` of `project` with `merge: true`.
    async fn merge(&self, project: &str, change: &Change, mode: MergeMode) -> Result<(), String> {
        let item = change_item(project, "master", change.number, &change.sha, mode).item;
        let report = Report {
            connection: "local".into(),
            settings: serde_json::json!({"merge": true}),
            item,
            mode,
            result: BuildResult::Success,
            message: "Build succeeded.".into(),
        };
        self.reporter.report(report).await.map_err(|e| e.0)
    }

    /// Whether the saved change book says the change merged.
    fn merged(&self, number: u64) -> bool {
        let path = book_path(self.merger.cache_dir(), "local");
        let Ok(text) = std::fs::read_to_string(path) else {
            return false;
        };
        let book: serde_json::Value = serde_json::from_str(&text).unwrap();
        let changes = book["changes"].as_array().unwrap();
        let change = changes.iter().find(|c| c["number"] == number).unwrap();
        change["merged"] == true
    }
}

/// Two changes A and C cut from master's root, each touching its own file, after
/// master moved on; their speculative state (A, then C) and the repo.
async fn a_and_c(w: &World, mode: MergeMode) -> (TestRepo, Change, Change, String) {
    let repo = w.repo("demo").await;
    let root = repo.commit(&[("base.txt", "base\n")], "root").await;
    let a = repo
        .branch_commit("review/a", &root, &[("a.txt", "a\n")], "A")
        .await;
    let c = repo
        .branch_commit("review/c", &root, &[("c.txt", "c\n")], "C")
        .await;
    repo.commit(&[("base.txt", "moved\n")], "master moves on")
        .await;
    let (a, c) = (
        w.propose("demo", "a", &a).await,
        w.propose("demo", "c", &c).await,
    );
    let request = MergeRequest {
        item_uuid: "c0ffee".into(),
        items: vec![
            change_item("demo", "master", a.number, &a.sha, mode),
            change_item("demo", "master", c.number, &c.sha, mode),
        ],
        required: Vec::new(),
    };
    let state = w.merger.speculate(&request).await.unwrap();
    let commit = state.commits[&("local".to_string(), "demo".to_string())].clone();
    (repo, a, c, commit)
}

async fn tree(repo: &TestRepo, commit: &str) -> String {
    repo.git(&["rev-parse", &format!("{commit}^{{tree}}")])
        .await
}

/// Lands A then C in `mode`; checks the tree against the state, the review branches,
/// the book and the work tree; returns master's first-parent subjects since the root.
async fn land_a_then_c(mode: MergeMode) -> String {
    let w = world();
    let (repo, a, c, state) = a_and_c(&w, mode).await;

    w.merge("demo", &a, mode).await.unwrap();
    w.merge("demo", &c, mode).await.unwrap();

    let cache = TestRepo {
        path: w.root.join("cache/local/demo.git"),
    };
    assert_eq!(
        tree(&repo, "master").await,
        tree(&cache, &state).await,
        "{mode:?}"
    );
    let branches = repo.git(&["branch", "--format=%(refname:short)"]).await;
    assert_eq!(branches, "master", "{mode:?}: review branches deleted");
    assert!(w.merged(a.number) && w.merged(c.number), "{mode:?}");
    let status = repo.git(&["status", "--porcelain"]).await;
    assert_eq!(status, "", "{mode:?}: the checked-out work tree follows");
    assert_eq!(
        std::fs::read_to_string(repo.path.join("c.txt")).unwrap(),
        "c\n"
    );
    repo.git(&["log", "--first-parent", "--format=%s", "-4", "master"])
        .await
}

#[tokio::test]
async fn merge_mode_lands_a_then_c_as_merge_commits() {
    let log = land_a_then_c(MergeMode::Merge).await;
    assert_eq!(
        log,
        "Merge change 2: Change 2\nMerge change 1: Change 1\nmaster moves on\nroot"
    );
}

#[tokio::test]
async fn merge_resolve_mode_lands_a_then_c_as_merge_commits() {
    let log = land_a_then_c(MergeMode::MergeResolve).await;
    assert_eq!(
        log,
        "Merge change 2: Change 2\nMerge change 1: Change 1\nmaster moves on\nroot"
    );
}

#[tokio::test]
async fn cherry_pick_mode_lands_a_then_c_as_copies() {
    let log = land_a_then_c(MergeMode::CherryPick).await;
    assert_eq!(log, "C\nA\nmaster moves on\nroot");
}

#[tokio::test]
async fn squash_merge_mode_lands_a_then_c_as_one_commit_each() {
    let log = land_a_then_c(MergeMode::SquashMerge).await;
    assert_eq!(log, "C\nA\nmaster moves on\nroot");
}

#[tokio::test]
async fn rebase_mode_lands_a_then_c_rebased() {
    let log = land_a_then_c(MergeMode::Rebase).await;
    assert_eq!(log, "C\nA\nmaster moves on\nroot");
}

#[tokio::test]
async fn a_change_that_conflicts_with_the_moved_target_is_a_merge_failure() {
    let w = world();
    let repo = w.repo("demo").await;
    let root = repo.commit(&[("a.txt", "base\n")], "root").await;
    let sha = repo
        .branch_commit("review/a", &root, &[("a.txt", "mine\n")], "A")
        .await;
    let change = w.propose("demo", "a", &sha).await;
    let moved = repo.commit(&[("a.txt", "theirs\n")], "someone else").await;

    let err = w
        .merge("demo", &change, MergeMode::Merge)
        .await
        .unwrap_err();

    assert!(
        err.contains("does not merge into master") && err.contains("a.txt"),
        "{err}"
    );
    assert_eq!(repo.git(&["rev-parse", "master"]).await, moved);
    assert_eq!(
        repo.git(&["rev-parse", "review/a"]).await,
        sha,
        "branch kept"
    );
    assert!(!w.merged(change.number));
}

#[tokio::test]
async fn a_change_with_a_newer_patchset_than_the_tested_one_does_not_merge() {
    let w = world();
    let repo = w.repo("demo").await;
    let root = repo.commit(&[("a.txt", "base\n")], "root").await;
    let tested = repo
        .branch_commit("review/a", &root, &[("a.txt", "one\n")], "A")
        .await;
    let change = w.propose("demo", "a", &tested).await;
    let newer = repo
        .branch_commit("review/a", &tested, &[("a.txt", "two\n")], "A2")
        .await;

    let err = w
        .merge("demo", &change, MergeMode::Merge)
        .await
        .unwrap_err();

    assert!(
        err.contains("no longer at patchset") && err.contains(&newer),
        "{err}"
    );
    assert_eq!(repo.git(&["rev-parse", "master"]).await, root);
}

#[tokio::test]
async fn a_dirty_checked_out_target_refuses_the_merge() {
    let w = world();
    let repo = w.repo("demo").await;
    let root = repo.commit(&[("a.txt", "base\n")], "root").await;
    let sha = repo
        .branch_commit("review/a", &root, &[("b.txt", "b\n")], "A")
        .await;
    let change = w.propose("demo", "a", &sha).await;
    std::fs::write(repo.path.join("a.txt"), "uncommitted\n").unwrap();

    let err = w
        .merge("demo", &change, MergeMode::Merge)
        .await
        .unwrap_err();

    assert!(err.contains("refused"), "{err}");
    assert_eq!(repo.git(&["rev-parse", "master"]).await, root);
}

#[tokio::test]
async fn a_bare_upstream_gets_the_merge_and_loses_the_review_branch() {
    let w = world();
    let work = TestRepo::init(&w.root.join("work")).await;
    let root = work.commit(&[("a.txt", "base\n")], "root").await;
    let sha = work
        .branch_commit("review/a", &root, &[("b.txt", "b\n")], "A")
        .await;
    let bare_path = w.root.join("repos/bare");
    work.git(&[
        "clone",
        "--quiet",
        "--bare",
        ".",
        bare_path.to_str().unwrap(),
    ])
    .await;
    let bare = TestRepo { path: bare_path };
    let change = w.propose("bare", "a", &sha).await;

    w.merge("bare", &change, MergeMode::Rebase).await.unwrap();

    assert_eq!(
        bare.git(&["rev-parse", "master"]).await,
        sha,
        "fast-forward"
    );
    assert_eq!(
        bare.git(&["branch", "--format=%(refname:short)"]).await,
        "master"
    );
}

#[tokio::test]
async fn a_report_without_merge_or_of_a_ref_update_changes_nothing() {
    let w = world();
    let (repo, a, _, _) = a_and_c(&w, MergeMode::Merge).await;
    let head = repo.git(&["rev-parse", "master"]).await;
    let mut item = change_item("demo", "master", a.number, &a.sha, MergeMode::Merge).item;
    let report = |settings, item| Report {
        connection: "local".into(),
        settings,
        item,
        mode: MergeMode::Merge,
        result: BuildResult::Success,
        message: String::new(),
    };

    let plain = w
        .reporter
        .report(report(serde_json::json!({}), item.clone()))
        .await;
    item.change = None;
    let not_a_change = w
        .reporter
        .report(report(serde_json::json!({"merge": true}), item))
        .await;

    assert_eq!(plain, Ok(()));
    assert!(not_a_change.unwrap_err().0.contains("not a change"));
    assert_eq!(repo.git(&["rev-parse", "master"]).await, head);
}
