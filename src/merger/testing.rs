//! Test helpers: upstream repos in temp folders, and a merger over them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use portcullis_actors::change::{ChangeRef, MergeItem, MergeMode};
use portcullis_actors::event::ItemRef;
use portcullis_config::server::{Connection, GitConnection};

use super::{Git, Merger};

/// A non-bare upstream repo that tests commit to directly.
pub(crate) struct TestRepo {
    /// Its folder.
    pub path: PathBuf,
}

impl TestRepo {
    /// An empty repo on branch `master` at `path`.
    pub async fn init(path: &Path) -> TestRepo {
        std::fs::create_dir_all(path).unwrap();
        let repo = TestRepo {
            path: path.to_path_buf(),
        };
        repo.git(&["init", "--quiet", "--initial-branch=master"])
            .await;
        repo
    }

    /// Runs git in the repo with a fixed identity; panics on failure.
    pub async fn git(&self, args: &[&str]) -> String {
        Git::new(Some(&self.path))
            .args([
                "-c",
                "user.name=Test",
                "-c",
                "user.email=test@example.invalid",
            ])
            .args(args)
            .text()
            .await
            .unwrap()
            .trim()
            .to_string()
    }

    /// Writes the files and commits them on the current branch; returns the commit.
    pub async fn commit(&self, files: &[(&str, &str)], message: &str) -> String {
        for (path, text) in files {
            let full = self.path.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        }
        self.git(&["add", "-A"]).await;
        self.git(&["commit", "--quiet", "--allow-empty", "-m", message])
            .await;
        self.git(&["rev-parse", "HEAD"]).await
    }

    /// Commits the files on top of `from` and points branch `name` at the commit in
    /// one step, as a push would (a poll never sees the branch half made); then goes
    /// back to `master`. Returns the commit.
    pub async fn branch_commit(
        &self,
        name: &str,
        from: &str,
        files: &[(&str, &str)],
        message: &str,
    ) -> String {
        self.git(&["checkout", "--quiet", "--detach", from]).await;
        let commit = self.commit(files, message).await;
        self.git(&["branch", "--force", name, &commit]).await;
        self.git(&["checkout", "--quiet", "master"]).await;
        commit
    }

    /// The text of `path` at `commit`.
    pub async fn show(&self, commit: &str, path: &str) -> String {
        self.git(&["show", &format!("{commit}:{path}")]).await
    }
}

/// The git connection `local` with repos under `baseurl`.
pub(crate) fn connections(baseurl: &Path) -> BTreeMap<String, Connection> {
    let git = GitConnection::folder(baseurl, 0.05);
    BTreeMap::from([("local".to_string(), Connection::Git(git))])
}

/// A merger with its cache in `cache` over the `local` connection at `baseurl`.
pub(crate) fn merger(baseurl: &Path, cache: &Path) -> Merger {
    Merger::new(cache.to_path_buf(), connections(baseurl))
}

/// Change `number` of `project` on connection `local`, proposing `patchset` to `target`.
pub(crate) fn change_item(
    project: &str,
    target: &str,
    number: u64,
    patchset: &str,
    mode: MergeMode,
) -> MergeItem {
    let item = ItemRef {
        connection: "local".into(),
        project: project.into(),
        ref_name: format!("refs/heads/{target}"),
        branch: Some(target.into()),
        tag: None,
        oldrev: String::new(),
        newrev: patchset.into(),
        change: Some(ChangeRef {
            number,
            patchset: patchset.into(),
            url: None,
            message: format!("Change {number}\n"),
            depends_on: Vec::new(),
            parents: Vec::new(),
        }),
    };
    MergeItem { item, mode }
}
