//! Speculative states: the engine's [`SpeculativeMerger`] port over the repo cache.
//!
//! A state is built project by project, each under its project's lock, in the
//! project's scratch tree: for every (project, branch) the items touch, start at
//! the branch head upstream (fetched fresh), then apply each change in queue
//! order in its own merge mode. An item without a change (a ref update) simply
//! sets its branch to its new revision. Projects the jobs need but no item
//! touches are taken at their branch heads. Each project's resulting commit is
//! kept under `refs/portcullis/state/<item_uuid>` in its cache repo, so it
//! survives until a build checks it out.

use std::collections::HashMap;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use portcullis_actors::change::{
    MergeError, MergeItem, MergeRequest, MergeState, SpeculativeMerger,
};
use portcullis_actors::event::ItemRef;

use super::scratch::{ApplyError, Patch, Scratch};
use super::{branch_head, check_revision, fetch, has_commit, Git, Merger, MergerError};

/// The ref namespace where states are kept in each cache repo.
pub const STATE_REFS: &str = "refs/portcullis/state/";

impl SpeculativeMerger for Merger {
    fn merge(&self, request: MergeRequest) -> BoxFuture<'static, Result<MergeState, MergeError>> {
        let merger = self.clone();
        async move { merger.speculate(&request).await }.boxed()
    }

    fn changed_files(&self, item: &ItemRef) -> BoxFuture<'static, Option<Vec<String>>> {
        let merger = self.clone();
        let item = item.clone();
        async move { merger.files_changed_by(&item).await }.boxed()
    }

    fn release(&self, item_uuid: &str, state: &MergeState) {
        let merger = self.clone();
        let uuid = item_uuid.to_string();
        let projects: Vec<_> = state.commits.keys().cloned().collect();
        // Items also stop while the server shuts down, when no runtime is left
        // to run the delete: the ref then stays, harmless, in the cache.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move { merger.release_state(&uuid, &projects).await });
            }
            Err(_) => tracing::debug!(item = %uuid, "shutting down; state ref kept"),
        }
    }
}

impl Merger {
    /// Deletes the state refs of `uuid` in the cache repos of `projects`, so that
    /// a busy server's caches do not keep every state it ever built.
    pub async fn release_state(&self, uuid: &str, projects: &[(String, String)]) {
        for (connection, project) in projects {
            let lock = self.lock(connection, project);
            let _guard = lock.lock().await;
            let Ok(cache) = self.ensure_cache(connection, project).await else {
                continue;
            };
            let deleted = Git::new(Some(&cache))
                .args(["update-ref", "-d", &format!("{STATE_REFS}{uuid}")])
                .output()
                .await;
            if let Err(error) = deleted {
                tracing::warn!(%connection, %project, item = %uuid, %error, "cannot delete a state ref");
            }
        }
    }
}

/// What one project contributes to a state.
struct ProjectPlan<'a> {
    connection: &'a str,
    project: &'a str,
    /// Its items, in queue order.
    items: Vec<&'a MergeItem>,
    /// The branch to take when no item touches the project.
    branch: Option<&'a str>,
}

impl Merger {
    /// Builds the speculative state `request` asks for.
    pub async fn speculate(&self, request: &MergeRequest) -> Result<MergeState, MergeError> {
        let started = std::time::Instant::now();
        let mut state = MergeState::default();
        for plan in plans(request) {
            let commit = self
                .project_state(&plan, &request.item_uuid)
                .await
                .map_err(|error| match error {
                    ApplyError::Conflict(detail) => MergeError::Conflict {
                        project: plan.project.to_string(),
                        detail,
                    },
                    ApplyError::Git(error) => MergeError::Failed(error.to_string()),
                })?;
            let key = (plan.connection.to_string(), plan.project.to_string());
            state.commits.insert(key, commit);
        }
        let duration_ms = started.elapsed().as_millis() as u64;
        tracing::debug!(item = %request.item_uuid, duration_ms, "speculative state built");
        Ok(state)
    }

    /// One project's commit of the state, kept under its state ref.
    async fn project_state(
        &self,
        plan: &ProjectPlan<'_>,
        uuid: &str,
    ) -> Result<String, ApplyError> {
        let (connection, project) = (plan.connection, plan.project);
        let url = self.repo_url(connection, project)?;
        let lock = self.lock(connection, project);
        let _guard = lock.lock().await;
        let cache = self.ensure_cache(connection, project).await?;
        fetch(&cache, &url).await?;
        // The state so far of each branch the items target.
        let mut heads: HashMap<&str, String> = HashMap::new();
        let mut last = None;
        let mut scratch: Option<Scratch> = None;
        for merge in &plan.items {
            let item = &merge.item;
            let branch = item.branch.as_deref().unwrap_or(&item.ref_name);
            let Some(change) = &item.change else {
                heads.insert(branch, item.newrev.clone());
                last = Some(item.newrev.clone());
                continue;
            };
            check_revision(project, &item.newrev)?;
            if !has_commit(&cache, &item.newrev).await? {
                return Err(MergerError::CommitNotFound {
                    project: project.to_string(),
                    commit: item.newrev.clone(),
                }
                .into());
            }
            let base = match heads.get(branch) {
                Some(commit) => commit.clone(),
                None => branch_head(&cache, project, branch).await?,
            };
            let mut tree = match scratch.take() {
                Some(tree) if tree.head() == base => tree,
                _ => self.scratch(connection, project, &cache, &base).await?,
            };
            let patch = Patch {
                sha: &item.newrev,
                number: change.number,
                message: &change.message,
            };
            let result = match tree.apply(&patch, merge.mode).await {
                Ok(commit) => commit,
                Err(error) => {
                    self.drop_scratch(connection, project);
                    return Err(error);
                }
            };
            heads.insert(branch, result.clone());
            last = Some(result);
            scratch = Some(tree);
        }
        let commit = match (last, plan.branch) {
            (Some(commit), _) => commit,
            (None, Some(branch)) => self.required_head(&cache, plan, branch).await?,
            (None, None) => {
                return Err(MergerError::CommitNotFound {
                    project: project.to_string(),
                    commit: "any branch".into(),
                }
                .into())
            }
        };
        keep(&cache, uuid, &commit).await?;
        Ok(commit)
    }
}

impl Merger {
    /// The head of `branch` in a project the jobs require, or of the project's
    /// default branch when it has no such branch (as Zuul checks out required projects).
    async fn required_head(
        &self,
        cache: &std::path::Path,
        plan: &ProjectPlan<'_>,
        branch: &str,
    ) -> Result<String, MergerError> {
        match branch_head(cache, plan.project, branch).await {
            Err(MergerError::CommitNotFound { .. }) => {
                let default = self.default_branch(plan.connection, plan.project).await?;
                let fallback = default.ok_or_else(|| MergerError::CommitNotFound {
                    project: plan.project.to_string(),
                    commit: format!("branch {branch} or a default branch"),
                })?;
                branch_head(cache, plan.project, &fallback).await
            }
            found => found,
        }
    }
}

/// Keeps `commit` reachable under the item's state ref (a ref update item may
/// name a revision the cache lacks; it then stays unkept, as there is nothing to keep).
async fn keep(cache: &std::path::Path, uuid: &str, commit: &str) -> Result<(), MergerError> {
    let valid = !uuid.is_empty() && uuid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid || !has_commit(cache, commit).await? {
        return Ok(());
    }
    Git::new(Some(cache))
        .args(["update-ref", &format!("{STATE_REFS}{uuid}"), commit])
        .output()
        .await?;
    Ok(())
}

/// The projects of a request in order of first appearance, items first, then `required`.
fn plans(request: &MergeRequest) -> Vec<ProjectPlan<'_>> {
    let mut plans: Vec<ProjectPlan<'_>> = Vec::new();
    for merge in &request.items {
        let (connection, project) = (&merge.item.connection, &merge.item.project);
        match plans
            .iter_mut()
            .find(|p| p.connection == connection && p.project == project)
        {
            Some(plan) => plan.items.push(merge),
            None => plans.push(ProjectPlan {
                connection,
                project,
                items: vec![merge],
                branch: None,
            }),
        }
    }
    for (connection, project, branch) in &request.required {
        if !plans
            .iter()
            .any(|p| p.connection == connection && p.project == project)
        {
            plans.push(ProjectPlan {
                connection,
                project,
                items: Vec::new(),
                branch: Some(branch),
            });
        }
    }
    plans
}

#[cfg(test)]
mod tests;
