//! The files items change, read from real repos in temp folders.

use portcullis_actors::change::MergeMode;
use portcullis_actors::event::{ItemRef, NULL_REV};

use crate::merger::testing::{change_item, merger, TestRepo};
use crate::merger::Merger;

struct World {
    _dir: tempfile::TempDir,
    repo: TestRepo,
    merger: Merger,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let repo = TestRepo::init(&root.join("repos/demo")).await;
    World {
        merger: merger(&root.join("repos"), &root.join("cache")),
        repo,
        _dir: dir,
    }
}

fn ref_update(oldrev: &str, newrev: &str) -> ItemRef {
    let mut item = change_item("demo", "master", 0, newrev, MergeMode::Merge).item;
    item.change = None;
    item.oldrev = oldrev.to_string();
    item
}

#[tokio::test]
async fn a_changes_files_are_its_own_commits_against_its_merge_base_with_renames_as_both_paths() {
    let w = world().await;
    let root = w
        .repo
        .commit(&[("base.txt", "base\n"), ("old.txt", "old\n")], "root")
        .await;
    let first = w
        .repo
        .branch_commit(
            "review/master/2",
            &root,
            &[("src/lib.rs", "fn f() {}\n")],
            "B1",
        )
        .await;
    w.repo
        .git(&["checkout", "--quiet", "review/master/2"])
        .await;
    w.repo.git(&["mv", "old.txt", "new.txt"]).await;
    let second = w.repo.commit(&[], "B2 renames").await;
    w.repo.git(&["checkout", "--quiet", "master"]).await;
    w.repo
        .commit(&[("base.txt", "moved\n")], "master moves on")
        .await;
    assert_ne!(first, second);

    // Master moved on since the review branch was cut: its file does not count.
    let change = change_item("demo", "master", 2, &second, MergeMode::Merge).item;
    let files = w.merger.files_changed_by(&change).await;

    let expected = ["new.txt", "old.txt", "src/lib.rs"].map(String::from);
    assert_eq!(files, Some(expected.to_vec()));
}

#[tokio::test]
async fn a_ref_updates_files_are_those_between_its_old_and_new_revision() {
    let w = world().await;
    let old = w.repo.commit(&[("README", "hi\n")], "root").await;
    w.repo.commit(&[("doc/index.rst", "docs\n")], "docs").await;
    let new = w.repo.commit(&[("src/main.rs", "\n")], "code").await;

    let files = w.merger.files_changed_by(&ref_update(&old, &new)).await;

    let expected = ["doc/index.rst", "src/main.rs"].map(String::from);
    assert_eq!(files, Some(expected.to_vec()));
}

#[tokio::test]
async fn a_new_ref_or_a_revision_nowhere_to_be_found_has_no_known_files() {
    let w = world().await;
    let head = w.repo.commit(&[("README", "hi\n")], "root").await;

    let created = w
        .merger
        .files_changed_by(&ref_update(NULL_REV, &head))
        .await;
    let unknown = w
        .merger
        .files_changed_by(&ref_update(&head, &"f".repeat(40)))
        .await;
    let hostile = w
        .merger
        .files_changed_by(&ref_update("--output=x", &head))
        .await;

    assert_eq!(created, None);
    assert_eq!(unknown, None);
    assert_eq!(hostile, None);
}
