//! The change book: which review branch is which change, kept across restarts.
//!
//! One JSON file per git connection, `{cache}/{connection}.changes.json`
//! beside the repo cache under the state dir. A file rather than refs in the
//! repos: numbers are allocated per connection, across all its projects, so
//! they need one counter in one place; a rename of a whole file is atomic; and
//! Portcullis never writes bookkeeping into the users' repos. The poller and
//! the reporter share one in-memory book per file (see [`ChangeBook::shared`]),
//! so a merge the reporter records is seen by the next poll.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use portcullis_actors::change::PatchsetRef;
use serde::{Deserialize, Serialize};

/// Why the book could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a change book.
    #[error("{path}: not a change book: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: serde_json::Error,
    },
}

/// One change: a review branch of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRecord {
    /// Its number, unique in the connection.
    pub number: u64,
    /// The project.
    pub project: String,
    /// The review branch (without `refs/heads/`).
    pub branch: String,
    /// The branch it proposes to merge into.
    pub target: String,
    /// The current patchset (the review branch's head).
    pub patchset: String,
    /// Whether the reporter merged it (its branch then leaves quietly).
    #[serde(default)]
    pub merged: bool,
    /// Its earlier patchsets, oldest first: a change built on one of them
    /// still names this change as its parent (at that patchset).
    #[serde(default)]
    pub earlier: Vec<String>,
}

impl ChangeRecord {
    /// Whether `sha` is this change's current or an earlier patchset.
    fn has_patchset(&self, sha: &str) -> bool {
        self.patchset == sha || self.earlier.iter().any(|e| e == sha)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct BookFile {
    /// The highest number ever given out; numbers are never reused.
    last_number: u64,
    /// The changes whose review branches exist, by number.
    changes: Vec<ChangeRecord>,
}

/// The changes of one connection.
#[derive(Debug)]
pub struct ChangeBook {
    path: PathBuf,
    file: BookFile,
}

/// A book shared by everyone in the process that uses its file.
pub type SharedBook = Arc<tokio::sync::Mutex<ChangeBook>>;

/// The books open in this process, by file.
static BOOKS: OnceLock<Mutex<HashMap<PathBuf, SharedBook>>> = OnceLock::new();

/// Where a connection's book lives, given the merger's cache folder.
pub fn book_path(cache_dir: &Path, connection: &str) -> PathBuf {
    cache_dir.join(format!("{connection}.changes.json"))
}

impl ChangeBook {
    /// The process's book at `path`, read from the file on first use (empty when there is none).
    pub async fn shared(path: PathBuf) -> Result<SharedBook, BookError> {
        let books = BOOKS.get_or_init(Default::default);
        if let Some(book) = lock(books).get(&path) {
            return Ok(book.clone());
        }
        let book = ChangeBook::load(path.clone()).await?;
        // Two first users may both have loaded it; the first one in wins.
        let shared = lock(books)
            .entry(path)
            .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(book)))
            .clone();
        Ok(shared)
    }

    /// Drops the process's copy of the book at `path`, as a restart would.
    #[cfg(test)]
    pub fn forget(path: &Path) {
        if let Some(books) = BOOKS.get() {
            lock(books).remove(path);
        }
    }

    async fn load(path: PathBuf) -> Result<ChangeBook, BookError> {
        let file = match tokio::fs::read(&path).await {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| BookError::Parse {
                path: path.clone(),
                source,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BookFile::default(),
            Err(source) => return Err(BookError::Io { path, source }),
        };
        Ok(ChangeBook { path, file })
    }

    /// The change of a review branch.
    pub fn get(&self, project: &str, branch: &str) -> Option<&ChangeRecord> {
        self.file
            .changes
            .iter()
            .find(|c| c.project == project && c.branch == branch)
    }

    /// The change with `number`.
    pub fn by_number(&self, number: u64) -> Option<&ChangeRecord> {
        self.file.changes.iter().find(|c| c.number == number)
    }

    /// The changes of a project.
    pub fn of_project(&self, project: &str) -> Vec<ChangeRecord> {
        let changes = self.file.changes.iter();
        changes.filter(|c| c.project == project).cloned().collect()
    }

    /// Records a new change of a review branch (replacing a merged one there); returns its number.
    pub fn open(&mut self, project: &str, branch: &str, target: &str, patchset: &str) -> u64 {
        self.remove(project, branch);
        self.file.last_number += 1;
        let number = self.file.last_number;
        self.file.changes.push(ChangeRecord {
            number,
            project: project.into(),
            branch: branch.into(),
            target: target.into(),
            patchset: patchset.into(),
            merged: false,
            earlier: Vec::new(),
        });
        number
    }

    /// Records a new patchset of a change; the one it replaces becomes an earlier one.
    pub fn set_patchset(&mut self, number: u64, patchset: &str) {
        if let Some(change) = self.file.changes.iter_mut().find(|c| c.number == number) {
            let replaced = std::mem::replace(&mut change.patchset, patchset.to_string());
            change.earlier.retain(|e| *e != patchset);
            change.earlier.push(replaced);
        }
    }

    /// The git parents of change `number` of `project`, given its `commits`
    /// (nearest first, as `git log` lists what its target lacks): each other
    /// open change with a patchset among them, once, at its nearest patchset.
    pub fn parents(&self, project: &str, number: u64, commits: &[String]) -> Vec<PatchsetRef> {
        let mut parents: Vec<PatchsetRef> = Vec::new();
        for sha in commits {
            let owner = self.file.changes.iter().find(|c| {
                c.project == project && c.number != number && !c.merged && c.has_patchset(sha)
            });
            let Some(owner) = owner else { continue };
            if parents.iter().all(|p| p.number != owner.number) {
                parents.push(PatchsetRef {
                    project: project.to_string(),
                    number: owner.number,
                    patchset: sha.clone(),
                });
            }
        }
        parents
    }

    /// Records that a change merged.
    pub fn set_merged(&mut self, number: u64) {
        if let Some(change) = self.file.changes.iter_mut().find(|c| c.number == number) {
            change.merged = true;
        }
    }

    /// Forgets the change of a review branch that is gone.
    pub fn remove(&mut self, project: &str, branch: &str) -> Option<ChangeRecord> {
        let at = self
            .file
            .changes
            .iter()
            .position(|c| c.project == project && c.branch == branch)?;
        Some(self.file.changes.remove(at))
    }

    /// Writes the book: to a temp file renamed over the old one, so a crash leaves one or the other.
    pub async fn save(&self) -> Result<(), BookError> {
        let io = |source| BookError::Io {
            path: self.path.clone(),
            source,
        };
        let text = serde_json::to_vec_pretty(&self.file).map_err(|source| BookError::Parse {
            path: self.path.clone(),
            source,
        })?;
        if let Some(folder) = self.path.parent() {
            tokio::fs::create_dir_all(folder).await.map_err(io)?;
        }
        let temp = self.path.with_extension("json.tmp");
        tokio::fs::write(&temp, text).await.map_err(io)?;
        tokio::fs::rename(&temp, &self.path).await.map_err(io)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The map is only ever inserted into, so a poisoned one is still whole.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn numbers_survive_a_restart_and_are_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = book_path(dir.path(), "local");
        let mut book = ChangeBook::load(path.clone()).await.unwrap();
        assert_eq!(book.open("demo", "review/a", "master", "aaa"), 1);
        assert_eq!(book.open("demo", "review/b", "master", "bbb"), 2);
        book.remove("demo", "review/b");
        book.set_patchset(1, "aaa2");
        book.save().await.unwrap();

        let mut again = ChangeBook::load(path).await.unwrap();

        let first = again.get("demo", "review/a").unwrap();
        assert_eq!((first.number, first.patchset.as_str()), (1, "aaa2"));
        assert_eq!(again.get("demo", "review/b"), None);
        assert_eq!(again.open("demo", "review/b", "master", "bbb"), 3);
    }

    #[tokio::test]
    async fn a_book_written_before_earlier_patchsets_were_kept_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = book_path(dir.path(), "local");
        let old = r#"{"last_number": 1, "changes": [{"number": 1, "project": "demo",
            "branch": "review/a", "target": "master", "patchset": "aaa"}]}"#;
        std::fs::write(&path, old).unwrap();

        let mut book = ChangeBook::load(path).await.unwrap();
        book.set_patchset(1, "bbb");

        let change = book.by_number(1).unwrap();
        assert_eq!(
            (change.patchset.as_str(), change.earlier.clone()),
            ("bbb", vec!["aaa".to_string()])
        );
    }

    #[tokio::test]
    async fn parents_are_other_open_changes_at_their_nearest_patchset_each_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut book = ChangeBook::load(book_path(dir.path(), "local"))
            .await
            .unwrap();
        let a = book.open("demo", "review/a", "master", "a1");
        book.set_patchset(a, "a2");
        let merged = book.open("demo", "review/m", "master", "m1");
        book.set_merged(merged);
        let other_project = book.open("lib", "review/l", "master", "l1");
        let own = book.open("demo", "review/c", "master", "c1");
        let commits: Vec<String> = ["c1", "x", "a2", "m1", "l1", "a1"].map(String::from).into();

        let parents = book.parents("demo", own, &commits);

        let nearest_a = PatchsetRef {
            project: "demo".into(),
            number: a,
            patchset: "a2".into(),
        };
        assert_eq!(
            parents,
            vec![nearest_a],
            "{other_project} is of another project"
        );
    }

    #[tokio::test]
    async fn a_file_that_is_not_a_book_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = book_path(dir.path(), "local");
        std::fs::write(&path, "[1, 2").unwrap();

        let err = ChangeBook::load(path.clone()).await.unwrap_err();

        assert!(err.to_string().contains("local.changes.json"), "{err}");
    }

    #[tokio::test]
    async fn everyone_in_the_process_shares_one_book_per_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = book_path(dir.path(), "local");
        let one = ChangeBook::shared(path.clone()).await.unwrap();
        let two = ChangeBook::shared(path).await.unwrap();

        one.lock().await.open("demo", "review/x", "master", "abc");

        assert_eq!(two.lock().await.by_number(1).unwrap().branch, "review/x");
    }
}
