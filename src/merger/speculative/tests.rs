//! Speculative states against real repos in temp folders.

use std::path::PathBuf;

use portcullis_actors::change::{MergeError, MergeItem, MergeMode, MergeRequest, MergeState};
use portcullis_actors::event::ItemRef;

use super::STATE_REFS;
use crate::merger::testing::{change_item, merger, TestRepo};
use crate::merger::Merger;

struct World {
    _dir: tempfile::TempDir,
    root: PathBuf,
    merger: Merger,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let merger = merger(&root.join("repos"), &root.join("cache"));
    World {
        _dir: dir,
        root,
        merger,
    }
}

impl World {
    async fn repo(&self, name: &str) -> TestRepo {
        TestRepo::init(&self.root.join("repos").join(name)).await
    }

    /// The state of the last of `items`, or the error.
    async fn state(&self, items: Vec<MergeItem>) -> Result<MergeState, MergeError> {
        self.merger.speculate(&request(items, vec![])).await
    }

    /// The cache repo of `project`, to look at its commits.
    fn cache(&self, project: &str) -> TestRepo {
        TestRepo {
            path: self.root.join("cache/local").join(format!("{project}.git")),
        }
    }
}

fn request(items: Vec<MergeItem>, required: Vec<(String, String, String)>) -> MergeRequest {
    MergeRequest {
        item_uuid: "0123abcd".into(),
        items,
        required,
    }
}

fn commit_of(state: &MergeState, project: &str) -> String {
    state.commits[&("local".to_string(), project.to_string())].clone()
}

/// A repo whose master moved on after three review branches were cut from it,
/// each touching its own file.
async fn three_changes(w: &World) -> (TestRepo, [String; 3]) {
    let repo = w.repo("demo").await;
    let root = repo.commit(&[("base.txt", "base\n")], "root").await;
    let a = repo
        .branch_commit("review/master/a", &root, &[("a.txt", "a\n")], "A")
        .await;
    let b = repo
        .branch_commit("review/master/b", &root, &[("b.txt", "b\n")], "B")
        .await;
    let c = repo
        .branch_commit("review/master/c", &root, &[("c.txt", "c\n")], "C")
        .await;
    repo.commit(&[("base.txt", "moved\n")], "master moves on")
        .await;
    (repo, [a, b, c])
}

#[tokio::test]
async fn one_change_is_merged_onto_the_current_branch_head_and_kept_under_a_state_ref() {
    let w = world();
    let (_, [a, _, _]) = three_changes(&w).await;

    let state = w
        .state(vec![change_item("demo", "master", 1, &a, MergeMode::Merge)])
        .await
        .unwrap();

    let commit = commit_of(&state, "demo");
    assert_eq!(w.cache("demo").show(&commit, "a.txt").await, "a");
    assert_eq!(w.cache("demo").show(&commit, "base.txt").await, "moved");
    let state_ref = format!("{STATE_REFS}0123abcd");
    let kept = w.cache("demo").git(&["rev-parse", &state_ref]).await;
    assert_eq!(kept, commit);
}

#[tokio::test]
async fn a_released_state_leaves_no_ref_behind() {
    let w = world();
    let (_, [a, _, _]) = three_changes(&w).await;
    let item = change_item("demo", "master", 1, &a, MergeMode::Merge);
    let state = w.state(vec![item]).await.unwrap();

    let projects: Vec<_> = state.commits.keys().cloned().collect();
    w.merger.release_state("0123abcd", &projects).await;

    let refs = w.cache("demo").git(&["for-each-ref", STATE_REFS]).await;
    assert_eq!(refs, "");
}

#[tokio::test]
async fn three_stacked_changes_give_the_last_one_a_state_holding_all_three() {
    let w = world();
    let (_, [a, b, c]) = three_changes(&w).await;
    let items = vec![
        change_item("demo", "master", 1, &a, MergeMode::Merge),
        change_item("demo", "master", 2, &b, MergeMode::Merge),
        change_item("demo", "master", 3, &c, MergeMode::Merge),
    ];

    let state = w.state(items).await.unwrap();

    let commit = commit_of(&state, "demo");
    for (file, text) in [("a.txt", "a"), ("b.txt", "b"), ("c.txt", "c")] {
        assert_eq!(w.cache("demo").show(&commit, file).await, text, "{file}");
    }
    let first_parents = w
        .cache("demo")
        .git(&["log", "--first-parent", "--format=%s", "-4", &commit])
        .await;
    let expected = "Merge change 3: Change 3\nMerge change 2: Change 2\nMerge change 1: Change 1\nmaster moves on";
    assert_eq!(first_parents, expected);
}

/// The subjects of the commits a mode adds on top of master, and the parents of the state.
async fn shape(w: &World, mode: MergeMode) -> (String, usize, TestRepo, String) {
    let (repo, [a, _, _]) = three_changes(w).await;
    // A second commit on B's branch: modes differ in what they make of it.
    repo.git(&["checkout", "--quiet", "review/master/b"]).await;
    let b2 = repo.commit(&[("b.txt", "b2\n")], "B2").await;
    repo.git(&["checkout", "--quiet", "master"]).await;
    let items = vec![
        change_item("demo", "master", 1, &a, mode),
        change_item("demo", "master", 2, &b2, mode),
    ];
    let state = w.state(items).await.unwrap();
    let commit = commit_of(&state, "demo");
    assert_eq!(w.cache("demo").show(&commit, "a.txt").await, "a");
    assert_eq!(w.cache("demo").show(&commit, "b.txt").await, "b2");
    assert_eq!(w.cache("demo").show(&commit, "base.txt").await, "moved");
    let cache = w.cache("demo");
    let subjects = cache
        .git(&[
            "log",
            "--first-parent",
            "--format=%s",
            &format!("master..{commit}"),
        ])
        .await;
    let parents = cache.git(&["log", "-1", "--format=%P", &commit]).await;
    (subjects, parents.split_whitespace().count(), cache, commit)
}

#[tokio::test]
async fn merge_mode_makes_a_merge_commit_per_change() {
    let w = world();
    let (subjects, parents, _, _) = shape(&w, MergeMode::Merge).await;
    assert_eq!(
        subjects,
        "Merge change 2: Change 2\nMerge change 1: Change 1"
    );
    assert_eq!(parents, 2);
}

#[tokio::test]
async fn merge_resolve_mode_makes_a_merge_commit_per_change_with_the_resolve_strategy() {
    let w = world();
    let (subjects, parents, _, _) = shape(&w, MergeMode::MergeResolve).await;
    assert_eq!(
        subjects,
        "Merge change 2: Change 2\nMerge change 1: Change 1"
    );
    assert_eq!(parents, 2);
}

#[tokio::test]
async fn cherry_pick_mode_copies_each_commit_keeping_its_author() {
    let w = world();
    let (subjects, parents, cache, commit) = shape(&w, MergeMode::CherryPick).await;
    assert_eq!(subjects, "B2\nB\nA");
    assert_eq!(parents, 1);
    let people = cache.git(&["log", "-1", "--format=%an/%cn", &commit]).await;
    assert_eq!(people, "Test/Portcullis");
}

#[tokio::test]
async fn squash_merge_mode_makes_one_commit_per_change_with_its_head_message() {
    let w = world();
    let (subjects, parents, _, _) = shape(&w, MergeMode::SquashMerge).await;
    assert_eq!(subjects, "B2\nA");
    assert_eq!(parents, 1);
}

#[tokio::test]
async fn rebase_mode_replays_each_commit_onto_the_state() {
    let w = world();
    let (subjects, parents, _, _) = shape(&w, MergeMode::Rebase).await;
    assert_eq!(subjects, "B2\nB\nA");
    assert_eq!(parents, 1);
}

#[tokio::test]
async fn a_change_conflicting_with_one_ahead_is_a_conflict_naming_project_and_file() {
    let w = world();
    let repo = w.repo("org/demo").await;
    let root = repo.commit(&[("a.txt", "base\n")], "root").await;
    let one = repo
        .branch_commit("review/one", &root, &[("a.txt", "one\n")], "one")
        .await;
    let two = repo
        .branch_commit("review/two", &root, &[("a.txt", "two\n")], "two")
        .await;
    for mode in [MergeMode::Merge, MergeMode::CherryPick, MergeMode::Rebase] {
        let items = vec![
            change_item("org/demo", "master", 1, &one, mode),
            change_item("org/demo", "master", 2, &two, mode),
        ];

        let err = w.state(items).await.unwrap_err();

        let MergeError::Conflict { project, detail } = &err else {
            panic!("{mode:?}: {err:?}");
        };
        assert_eq!(project, "org/demo");
        assert!(detail.contains("a.txt"), "{mode:?}: {detail}");
    }
    // The scratch tree is usable again after the conflicts.
    let alone = w
        .state(vec![change_item(
            "org/demo",
            "master",
            2,
            &two,
            MergeMode::Rebase,
        )])
        .await
        .unwrap();
    assert_eq!(
        w.cache("org/demo")
            .show(&commit_of(&alone, "org/demo"), "a.txt")
            .await,
        "two"
    );
}

#[tokio::test]
async fn required_projects_are_at_their_branch_heads_and_a_ref_update_at_its_revision() {
    let w = world();
    let (_, [a, _, _]) = three_changes(&w).await;
    let lib = w.repo("lib").await;
    lib.commit(&[("lib.txt", "1")], "lib 1").await;
    lib.git(&["branch", "stable"]).await;
    let lib_head = lib.commit(&[("lib.txt", "2")], "lib 2").await;
    let tools = w.repo("tools").await;
    let tools_old = tools.commit(&[("t", "1")], "tools 1").await;
    tools.commit(&[("t", "2")], "tools 2").await;
    let update = MergeItem {
        item: ItemRef {
            connection: "local".into(),
            project: "tools".into(),
            ref_name: "refs/heads/master".into(),
            branch: Some("master".into()),
            tag: None,
            oldrev: String::new(),
            newrev: tools_old.clone(),
            change: None,
        },
        mode: MergeMode::Merge,
    };
    let required = vec![
        ("local".into(), "lib".into(), "master".into()),
        ("local".into(), "tools".into(), "master".into()),
    ];
    let items = vec![
        update,
        change_item("demo", "master", 1, &a, MergeMode::Merge),
    ];

    let state = w.merger.speculate(&request(items, required)).await.unwrap();

    assert_eq!(commit_of(&state, "lib"), lib_head);
    assert_eq!(commit_of(&state, "tools"), tools_old);
    assert_eq!(state.commits.len(), 3);
}

#[tokio::test]
async fn a_required_project_without_the_items_branch_is_at_its_default_branch() {
    let w = world();
    let (_, [a, _, _]) = three_changes(&w).await;
    let lib = w.repo("lib").await;
    let lib_head = lib.commit(&[("lib.txt", "1")], "lib 1").await;
    let required = vec![("local".into(), "lib".into(), "stable/9".into())];
    let items = vec![change_item("demo", "master", 1, &a, MergeMode::Merge)];

    let state = w.merger.speculate(&request(items, required)).await.unwrap();

    assert_eq!(commit_of(&state, "lib"), lib_head);
}

#[tokio::test]
async fn the_state_commit_checks_out_into_a_workspace() {
    let w = world();
    let (_, [a, b, _]) = three_changes(&w).await;
    let items = vec![
        change_item("demo", "master", 1, &a, MergeMode::SquashMerge),
        change_item("demo", "master", 2, &b, MergeMode::SquashMerge),
    ];
    let state = w.state(items).await.unwrap();
    let commit = commit_of(&state, "demo");
    let dest = w.root.join("workspace");

    w.merger
        .checkout("local", "demo", &commit, &dest)
        .await
        .unwrap();

    assert_eq!(std::fs::read_to_string(dest.join("a.txt")).unwrap(), "a\n");
    assert_eq!(std::fs::read_to_string(dest.join("b.txt")).unwrap(), "b\n");
    let ws = TestRepo { path: dest };
    assert_eq!(ws.git(&["rev-parse", "HEAD"]).await, commit);
}

#[tokio::test]
async fn a_change_whose_commit_is_gone_fails_without_being_a_conflict() {
    let w = world();
    three_changes(&w).await;
    let missing = "1234567890123456789012345678901234567890";

    let err = w
        .state(vec![change_item(
            "demo",
            "master",
            1,
            missing,
            MergeMode::Merge,
        )])
        .await
        .unwrap_err();

    assert!(
        matches!(&err, MergeError::Failed(m) if m.contains(missing)),
        "{err:?}"
    );
}
