//! Merger scenarios against real repos in temp folders.

use super::testing::{merger, TestRepo};
use super::*;

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
}

#[tokio::test]
async fn refs_lists_branches_and_tags_with_annotated_tags_unpeeled() {
    let w = world();
    let repo = w.repo("org/demo").await;
    let first = repo.commit(&[("a.txt", "1")], "first").await;
    repo.git(&["tag", "light"]).await;
    repo.git(&["tag", "-a", "-m", "release", "v1"]).await;
    repo.git(&["checkout", "--quiet", "-b", "stable"]).await;
    let second = repo.commit(&[("a.txt", "2")], "second").await;
    let tag_object = repo.git(&["rev-parse", "refs/tags/v1"]).await;

    let refs = w.merger.refs("local", "org/demo").await.unwrap();

    let expected = BTreeMap::from([
        ("refs/heads/master".to_string(), first.clone()),
        ("refs/heads/stable".to_string(), second),
        ("refs/tags/light".to_string(), first.clone()),
        ("refs/tags/v1".to_string(), tag_object.clone()),
    ]);
    assert_eq!(refs, expected);
    assert_ne!(tag_object, first, "an annotated tag has its own object");
}

#[tokio::test]
async fn refs_of_a_missing_repo_is_a_git_error_naming_the_command() {
    let w = world();
    let err = w.merger.refs("local", "nowhere").await.unwrap_err();
    assert!(
        matches!(&err, MergerError::Git { command, .. } if command.contains("ls-remote")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_unknown_connection_or_escaping_project_is_refused() {
    let w = world();
    assert!(matches!(
        w.merger.repo_url("gerrit", "demo"),
        Err(MergerError::UnknownConnection(_))
    ));
    assert!(matches!(
        w.merger.repo_url("local", "../etc"),
        Err(MergerError::InvalidProject(_))
    ));
    let url = w.merger.repo_url("local", "org/demo").unwrap();
    assert_eq!(url, format!("{}/org/demo", w.root.join("repos").display()));
}

#[tokio::test]
async fn checkout_creates_a_work_tree_at_the_commit_even_after_the_branch_moved() {
    let w = world();
    let repo = w.repo("demo").await;
    let first = repo.commit(&[("a.txt", "one")], "first").await;
    let dest1 = w.root.join("ws1");
    w.merger
        .checkout("local", "demo", &first, &dest1)
        .await
        .unwrap();
    let second = repo.commit(&[("a.txt", "two")], "second").await;
    let dest2 = w.root.join("ws2");

    w.merger
        .checkout("local", "demo", &second, &dest2)
        .await
        .unwrap();

    assert_eq!(std::fs::read_to_string(dest1.join("a.txt")).unwrap(), "one");
    assert_eq!(std::fs::read_to_string(dest2.join("a.txt")).unwrap(), "two");
    let ws = TestRepo { path: dest2 };
    assert_eq!(ws.git(&["rev-parse", "HEAD"]).await, second);
    let origin = ws.git(&["remote", "get-url", "origin"]).await;
    assert_eq!(origin, w.merger.repo_url("local", "demo").unwrap());
}

#[tokio::test]
async fn checkout_of_an_unknown_commit_says_so() {
    let w = world();
    let repo = w.repo("demo").await;
    repo.commit(&[("a.txt", "one")], "first").await;
    let missing = "1234567890123456789012345678901234567890";
    let err = w
        .merger
        .checkout("local", "demo", missing, &w.root.join("ws"))
        .await
        .unwrap_err();
    assert!(matches!(err, MergerError::CommitNotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn config_files_come_from_the_first_root_and_zuul_d_is_read_in_order() {
    let w = world();
    let repo = w.repo("demo").await;
    let commit = repo
        .commit(
            &[
                ("zuul.d/b.yaml", "- job: {name: b}\n"),
                ("zuul.d/a.yaml", "- job: {name: a}\n"),
                ("zuul.d/notes.txt", "not config"),
                (".zuul.yaml", "- job: {name: hidden}\n"),
                ("README", "hi"),
            ],
            "config",
        )
        .await;

    let read = w.merger.read_config_files("local", "demo", "master").await;

    let (head, files) = read.unwrap().unwrap();
    assert_eq!(head, commit);
    let expected = vec![
        (
            "zuul.d/a.yaml".to_string(),
            "- job: {name: a}\n".to_string(),
        ),
        (
            "zuul.d/b.yaml".to_string(),
            "- job: {name: b}\n".to_string(),
        ),
    ];
    assert_eq!(files, expected);
}

#[tokio::test]
async fn config_files_follow_the_branch_head_as_it_moves() {
    let w = world();
    let repo = w.repo("demo").await;
    repo.commit(&[(".zuul.yaml", "old\n")], "first").await;
    let before = w.merger.read_config_files("local", "demo", "master").await;
    let second = repo.commit(&[("zuul.yaml", "new\n")], "second").await;

    let after = w.merger.read_config_files("local", "demo", "master").await;

    let before_files = before.unwrap().unwrap().1;
    assert_eq!(before_files, vec![(".zuul.yaml".into(), "old\n".into())]);
    let (head, files) = after.unwrap().unwrap();
    assert_eq!(head, second);
    assert_eq!(files, vec![("zuul.yaml".into(), "new\n".into())]);
}

#[tokio::test]
async fn config_files_of_a_missing_branch_are_none_and_of_a_bare_branch_empty() {
    let w = world();
    let repo = w.repo("demo").await;
    repo.commit(&[("src.rs", "")], "no config").await;

    let missing = w.merger.read_config_files("local", "demo", "stable").await;
    let bare = w.merger.read_config_files("local", "demo", "master").await;

    assert!(missing.unwrap().is_none());
    assert!(bare.unwrap().unwrap().1.is_empty());
}

#[tokio::test]
async fn default_branch_is_the_one_head_points_to() {
    let w = world();
    let repo = w.repo("demo").await;
    repo.git(&["checkout", "--quiet", "-b", "trunk"]).await;
    repo.commit(&[("a", "")], "first").await;
    let empty = w.repo("empty").await;

    let branch = w.merger.default_branch("local", "demo").await.unwrap();
    let none = w.merger.default_branch("local", "empty").await.unwrap();

    assert_eq!(branch.as_deref(), Some("trunk"));
    assert_eq!(none, None, "{}", empty.path.display());
}

#[tokio::test]
async fn concurrent_operations_on_one_project_do_not_trip_over_each_other() {
    let w = world();
    let repo = w.repo("demo").await;
    let commit = repo.commit(&[("zuul.yaml", "x\n")], "first").await;
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let merger = w.merger.clone();
            let dest = w.root.join(format!("ws{i}"));
            let commit = commit.clone();
            tokio::spawn(async move {
                merger.checkout("local", "demo", &commit, &dest).await?;
                merger.read_config_files("local", "demo", "master").await
            })
        })
        .collect();

    for task in tasks {
        let (head, _) = task.await.unwrap().unwrap().unwrap();
        assert_eq!(head, commit);
    }
}
