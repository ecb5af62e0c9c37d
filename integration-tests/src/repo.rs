//! Git repos that tests commit to, as a developer pushing to the server's remote.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A non-bare git repo on branch `master` that the server polls.
pub struct Repo {
    path: PathBuf,
}

impl Repo {
    /// Creates an empty repo at `path`.
    pub fn init(path: &Path) -> Repo {
        std::fs::create_dir_all(path).expect("create repo dir");
        let repo = Repo {
            path: path.to_path_buf(),
        };
        repo.git(&["init", "-q", "-b", "master"]);
        repo
    }

    /// The existing repo at `path`.
    pub fn open(path: &Path) -> Repo {
        Repo {
            path: path.to_path_buf(),
        }
    }

    /// The repo's folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes files (path, content) and commits them; returns the new commit.
    pub fn commit(&self, message: &str, files: &[(&str, &str)]) -> String {
        for (name, content) in files {
            let file = self.path.join(name);
            std::fs::create_dir_all(file.parent().expect("file has a folder")).expect("mkdir");
            std::fs::write(&file, content).expect("write file");
        }
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.head()
    }

    /// The sha of HEAD.
    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    /// Runs git in the repo and returns its stdout; panics on failure.
    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=Test Dev",
                "-c",
                "user.email=dev@example.invalid",
            ])
            .args(args)
            .current_dir(&self.path)
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}
