//! Test helpers: upstream repos in temp folders, and a merger over them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
}

/// The git connection `local` with repos under `baseurl`.
pub(crate) fn connections(baseurl: &Path) -> BTreeMap<String, Connection> {
    let git = GitConnection {
        baseurl: baseurl.display().to_string(),
        poll_delay: 0.05,
        seed: None,
        review_prefix: "review/".into(),
    };
    BTreeMap::from([("local".to_string(), Connection::Git(git))])
}

/// A merger with its cache in `cache` over the `local` connection at `baseurl`.
pub(crate) fn merger(baseurl: &Path, cache: &Path) -> Merger {
    Merger::new(cache.to_path_buf(), connections(baseurl))
}
