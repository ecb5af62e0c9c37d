//! Landing a change: merging it into its target branch in the upstream repo.
//!
//! The merge is made the way speculative states are made (same scratch tree,
//! same merge mode, on the target's fresh head), so a change tested on top of
//! items that have since landed gets the very tree it was tested with. The
//! result is pushed in one atomic push that also checks, by lease, that the
//! target did not move and the review branch still holds the tested patchset.
//! The review branch is deleted afterwards.
//!
//! Landing is idempotent against the target branch: a patchset the target
//! already holds (a restart replays a report whose merge had been pushed)
//! lands as it is, without a second merge. That holds for the merge modes,
//! which keep the patchset in the target's history; a cherry-picked, squashed
//! or rebased change is not recognised and its replay fails to land.
//!
//! A non-bare local upstream with the target branch checked out is updated
//! through git's `receive.denyCurrentBranch=updateInstead`: its work tree
//! follows when it is clean, and git refuses the push (a failed landing) when
//! it holds uncommitted edits.

use portcullis_actors::change::MergeMode;

use super::scratch::{ApplyError, Patch};
use super::{branch_head, fetch, Git, Merger, MergerError};

/// A change to land.
#[derive(Debug, Clone)]
pub struct Landing<'a> {
    /// Connection name.
    pub connection: &'a str,
    /// Project name.
    pub project: &'a str,
    /// The branch it merges into.
    pub target: &'a str,
    /// The review branch proposing it (without `refs/heads/`).
    pub review_branch: &'a str,
    /// The tested patchset: the review branch's head commit.
    pub patchset: &'a str,
    /// The change number (for merge commit messages).
    pub number: u64,
    /// The head commit's message.
    pub message: &'a str,
    /// How to merge.
    pub mode: MergeMode,
}

/// Why a change did not land.
#[derive(Debug, thiserror::Error)]
pub enum LandError {
    /// It conflicts with its target branch as the branch is now.
    #[error("change {number} does not merge into {target}: {detail}")]
    Conflict {
        /// The change number.
        number: u64,
        /// The target branch.
        target: String,
        /// The conflicting files, or what git said.
        detail: String,
    },
    /// The review branch no longer holds the tested patchset.
    #[error("change {number} is no longer at patchset {patchset}: {detail}")]
    Outdated {
        /// The change number.
        number: u64,
        /// The patchset that was tested.
        patchset: String,
        /// What is there instead.
        detail: String,
    },
    /// The upstream repo refused the push (target moved, dirty work tree, ...).
    #[error("the upstream repo refused the merge of change {number}: {source}")]
    Refused {
        /// The change number.
        number: u64,
        /// The push and what it said.
        source: MergerError,
    },
    /// Anything else git could not do.
    #[error(transparent)]
    Git(#[from] MergerError),
}

impl Merger {
    /// Merges the change into its target branch upstream and deletes its review
    /// branch; returns the target's new head.
    pub async fn land(&self, landing: &Landing<'_>) -> Result<String, LandError> {
        let (connection, project) = (landing.connection, landing.project);
        let url = self.repo_url(connection, project)?;
        let lock = self.lock(connection, project);
        let _guard = lock.lock().await;
        let cache = self.ensure_cache(connection, project).await?;
        fetch(&cache, &url).await?;
        let base = branch_head(&cache, project, landing.target).await?;
        if is_ancestor(&cache, landing.patchset, &base).await {
            tracing::info!(%connection, %project, change = landing.number, target = %landing.target, "already landed");
            self.delete_review_branch(&url, &cache, landing).await;
            return Ok(base);
        }
        let review = branch_head(&cache, project, landing.review_branch).await;
        let outdated = |detail: String| LandError::Outdated {
            number: landing.number,
            patchset: landing.patchset.to_string(),
            detail,
        };
        match review {
            Ok(head) if head == landing.patchset => {}
            Ok(head) => return Err(outdated(format!("its review branch is at {head}"))),
            Err(_) => return Err(outdated("its review branch is gone".into())),
        }
        let mut tree = self.scratch(connection, project, &cache, &base).await?;
        let patch = Patch {
            sha: landing.patchset,
            number: landing.number,
            message: landing.message,
        };
        let result = match tree.apply(&patch, landing.mode).await {
            Ok(commit) => commit,
            Err(error) => {
                self.drop_scratch(connection, project);
                return Err(match error {
                    ApplyError::Conflict(detail) => LandError::Conflict {
                        number: landing.number,
                        target: landing.target.to_string(),
                        detail,
                    },
                    ApplyError::Git(error) => error.into(),
                });
            }
        };
        let target_ref = format!("refs/heads/{}", landing.target);
        let review_ref = format!("refs/heads/{}", landing.review_branch);
        // The review branch is pushed onto itself: a no-op whose lease makes the
        // atomic push fail when a new patchset arrived since the test.
        push(&cache, &url)
            .arg("--atomic")
            .arg(format!("--force-with-lease={target_ref}:{base}"))
            .arg(format!(
                "--force-with-lease={review_ref}:{}",
                landing.patchset
            ))
            .arg(&url)
            .arg(format!("{result}:{target_ref}"))
            .arg(format!("{}:{review_ref}", landing.patchset))
            .output()
            .await
            .map_err(|source| LandError::Refused {
                number: landing.number,
                source,
            })?;
        self.delete_review_branch(&url, &cache, landing).await;
        Ok(result)
    }

    /// Whether the target branch upstream already holds `patchset`.
    pub async fn landed(
        &self,
        connection: &str,
        project: &str,
        target: &str,
        patchset: &str,
    ) -> Result<bool, MergerError> {
        let url = self.repo_url(connection, project)?;
        let lock = self.lock(connection, project);
        let _guard = lock.lock().await;
        let cache = self.ensure_cache(connection, project).await?;
        fetch(&cache, &url).await?;
        let base = branch_head(&cache, project, target).await?;
        Ok(is_ancestor(&cache, patchset, &base).await)
    }

    /// Deletes the review branch while it still holds the landed patchset.
    async fn delete_review_branch(
        &self,
        url: &str,
        cache: &std::path::Path,
        landing: &Landing<'_>,
    ) {
        let review_ref = format!("refs/heads/{}", landing.review_branch);
        let deleted = push(cache, url)
            .arg(format!(
                "--force-with-lease={review_ref}:{}",
                landing.patchset
            ))
            .arg(url)
            .arg(format!(":{review_ref}"))
            .output()
            .await;
        if let Err(error) = deleted {
            // The change has landed; a review branch left behind (say, checked out
            // in a non-bare upstream, or already gone) is only untidy.
            tracing::warn!(connection = %landing.connection, project = %landing.project, branch = %landing.review_branch, %error, "merged, but could not delete the review branch");
        }
    }
}

/// Whether `commit` is in the history of `head` (false when either is unknown).
async fn is_ancestor(cache: &std::path::Path, commit: &str, head: &str) -> bool {
    let git = Git::new(Some(cache)).args(["merge-base", "--is-ancestor", commit, head]);
    git.succeeds().await.unwrap_or(false)
}

/// `git push` from the cache; into a local upstream with receive-pack told to
/// update a checked-out target branch's work tree (refused when it is dirty).
fn push(cache: &std::path::Path, url: &str) -> Git {
    let git = Git::new(Some(cache)).args(["push", "--quiet"]);
    let remote = url.contains("://") && !url.starts_with("file://") || url.starts_with("git@");
    match remote {
        true => git,
        false => {
            git.arg("--receive-pack=git -c receive.denyCurrentBranch=updateInstead receive-pack")
        }
    }
}
