//! The files an item itself changes, which its jobs' `files` and
//! `irrelevant-files` look at: a change's commits against the merge base with
//! its target branch (what a review shows, whatever moved on the branch since),
//! a ref update's oldrev..newrev. Renames count as both paths. A new or
//! deleted ref, or a revision nowhere to be found, has no known files: every
//! job runs, as in Zuul.

use std::path::Path;

use portcullis_actors::event::{ItemRef, NULL_REV};

use super::{branch_head, check_revision, ensure_commit, Git, Merger, MergerError};

impl Merger {
    /// The files `item` changes; `None` when they cannot be known (logged here).
    pub async fn files_changed_by(&self, item: &ItemRef) -> Option<Vec<String>> {
        match self.try_changed_files(item).await {
            Ok(files) => files,
            Err(error) => {
                tracing::warn!(
                    project = %item.project, r#ref = %item.ref_name, %error,
                    "the changed files are not known; every job runs"
                );
                None
            }
        }
    }

    async fn try_changed_files(&self, item: &ItemRef) -> Result<Option<Vec<String>>, MergerError> {
        let (connection, project) = (item.connection.as_str(), item.project.as_str());
        if item.newrev == NULL_REV || (item.change.is_none() && item.oldrev == NULL_REV) {
            return Ok(None);
        }
        check_revision(project, &item.newrev)?;
        let url = self.repo_url(connection, project)?;
        let lock = self.lock(connection, project);
        let _guard = lock.lock().await;
        let cache = self.ensure_cache(connection, project).await?;
        ensure_commit(&cache, &url, project, &item.newrev).await?;
        let base = match (&item.change, item.branch.as_deref()) {
            (Some(_), Some(branch)) => {
                let head = branch_head(&cache, project, branch).await?;
                merge_base(&cache, &head, &item.newrev).await?
            }
            (Some(_), None) => None,
            (None, _) => {
                check_revision(project, &item.oldrev)?;
                ensure_commit(&cache, &url, project, &item.oldrev).await?;
                Some(item.oldrev.clone())
            }
        };
        match base {
            Some(base) => Ok(Some(diff_names(&cache, &base, &item.newrev).await?)),
            None => Ok(None),
        }
    }
}

/// The best common ancestor of two commits; `None` when their histories never meet.
async fn merge_base(cache: &Path, a: &str, b: &str) -> Result<Option<String>, MergerError> {
    let found = Git::new(Some(cache))
        .args(["merge-base", a, b])
        .text()
        .await;
    match found {
        Ok(sha) => Ok(Some(sha.trim().to_string())),
        // Exit 1 with nothing said: no common ancestor.
        Err(MergerError::Git { stderr, .. }) if stderr.is_empty() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Paths that differ between two commits, renames as a deletion and an addition.
async fn diff_names(cache: &Path, from: &str, to: &str) -> Result<Vec<String>, MergerError> {
    let out = Git::new(Some(cache))
        .args([
            "diff-tree",
            "-r",
            "-z",
            "--name-only",
            "--no-renames",
            from,
            to,
        ])
        .output()
        .await?;
    let names = out.split(|b| *b == 0).filter(|name| !name.is_empty());
    Ok(names
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect())
}

#[cfg(test)]
mod tests;
