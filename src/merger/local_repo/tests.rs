//! The in-process reader against git itself, on loose and packed repos.

use super::*;
use crate::merger::config_files;
use crate::merger::testing::TestRepo;

/// A file long enough that git stores its versions as deltas once packed.
fn long_file(version: usize) -> String {
    let mut text = String::new();
    for line in 0..300 {
        text.push_str(&format!(
            "- job: {{name: job-{line}, run: run-{line}.yaml}}\n"
        ));
        if line == 150 {
            text.push_str(&format!("# version {version}\n"));
        }
    }
    text
}

/// A repo with a config folder (nested, with a non-yaml file) and a shadowed
/// `.zuul.yaml`, changed over several commits; returns the repo and the commits.
async fn history(dir: &Path) -> (TestRepo, Vec<String>) {
    let repo = TestRepo::init(&dir.join("demo")).await;
    let mut commits = Vec::new();
    for version in 0..6 {
        let files = [
            ("zuul.d/jobs.yaml", long_file(version)),
            ("zuul.d/nested/more.yaml", format!("# more {version}\n")),
            ("zuul.d/README.md", "not config\n".to_string()),
            (".zuul.yaml", "- job: {name: shadowed}\n".to_string()),
        ];
        let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
        commits.push(repo.commit(&files, &format!("v{version}")).await);
    }
    (repo, commits)
}

async fn assert_reads_as_git(repo: &TestRepo, commits: &[String]) {
    let mut local = LocalRepo::open(&repo.path).unwrap();
    for commit in commits {
        let by_git = config_files::read(&repo.path, commit).await.unwrap();
        assert_eq!(local.config_files(commit).unwrap(), by_git, "at {commit}");
    }
    let head = repo.git(&["rev-parse", "master"]).await;
    assert_eq!(local.branch_head("master").unwrap(), Some(head));
}

#[tokio::test]
async fn config_files_read_in_process_are_those_git_reads_from_loose_and_packed_objects() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, commits) = history(dir.path()).await;
    assert_eq!(
        LocalRepo::open(&repo.path)
            .unwrap()
            .config_files(&commits[0])
            .unwrap()[0]
            .0,
        "zuul.d/jobs.yaml"
    );
    assert_reads_as_git(&repo, &commits).await;

    // Everything packed (with deltas between the versions) and refs in packed-refs.
    repo.git(&["gc", "--quiet", "--aggressive", "--prune=now"])
        .await;
    assert!(!repo.path.join(".git/refs/heads/master").exists());
    let packs = std::fs::read_dir(repo.path.join(".git/objects/pack")).unwrap();
    let idx = (packs.flatten().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "idx"))
        .unwrap();
    let verify = repo
        .git(&["verify-pack", "-v", idx.to_str().unwrap()])
        .await;
    assert!(verify.contains("chain length"), "deltas expected: {verify}");
    assert_reads_as_git(&repo, &commits).await;
}

#[tokio::test]
async fn head_names_its_branch_and_a_missing_branch_is_none() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, _) = history(dir.path()).await;
    repo.git(&["checkout", "--quiet", "-b", "main"]).await;
    let mut local = LocalRepo::open(&repo.path).unwrap();

    assert_eq!(local.head_branch().unwrap().as_deref(), Some("main"));
    assert_eq!(local.branch_head("no-such-branch").unwrap(), None);
    assert!(local.branch_head("../../HEAD").is_err());
}

#[tokio::test]
async fn repos_with_alternates_or_extensions_are_left_to_git() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, _) = history(dir.path()).await;
    repo.git(&["config", "extensions.worktreeConfig", "true"])
        .await;
    assert!(LocalRepo::open(&repo.path).is_err());

    let other = TestRepo::init(&dir.path().join("other")).await;
    let objects = repo.path.join(".git/objects");
    let alternates = other.path.join(".git/objects/info/alternates");
    std::fs::write(alternates, objects.display().to_string()).unwrap();
    assert!(LocalRepo::open(&other.path).is_err());
}

#[test]
fn a_delta_copies_and_inserts_and_refuses_a_base_of_the_wrong_size() {
    let base = b"hello world";
    // Sizes 11 -> 9; copy 5 bytes from offset 0 (0x90: one size byte); insert 4.
    let delta = [11, 9, 0x90, 5, 4, b',', b' ', b'x', b'!'];
    let applied = pack::apply_delta(base, &delta);
    assert_eq!(applied.as_deref(), Some(&b"hello, x!"[..]));
    assert_eq!(pack::apply_delta(b"short", &delta), None);
}
