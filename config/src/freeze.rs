//! Freezing: from a layout, the fully inherited jobs one item runs.
//!
//! For each job a project lists in a pipeline (through its stanzas and their
//! templates), we collect the variants that match the item's branch, parents
//! first (`freeze/walk.rs`), fold them (`freeze/fold.rs`), put the project's
//! vars under the job's and its local variants on top, then decide with the
//! file matchers which jobs run and settle their dependencies
//! (`freeze/graph.rs`).

mod config_update;
mod fold;
mod graph;
mod walk;

#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::job::{
    JobDependency, MatcherList, PlaybookDef, RequiredProject, RoleRef, SecretUse, Source, Vars,
};
use crate::layout::Layout;
use crate::nodeset::Nodeset;
use crate::ConfigError;

pub use graph::{freeze_job_graph_for_files, NOOP_JOB};

/// A playbook to run, and where its file comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct PlaybookRef {
    /// Connection of the project.
    pub connection: String,
    /// Project whose repo holds the playbook.
    pub project: String,
    /// Branch the defining config was read from.
    pub branch: String,
    /// Commit the defining config was read at.
    pub commit: String,
    /// Path of the playbook in that repo.
    pub path: String,
    /// True when defined in a config project.
    pub trusted: bool,
    /// Semaphores held while the playbook runs.
    pub semaphores: Vec<String>,
    /// True when it runs even if the job is canceled.
    pub cleanup: bool,
    /// The secrets this playbook sees, as variables by name (decrypted when the
    /// layout had keys). Never serialized, so no API or golden file shows them.
    #[serde(skip)]
    pub secrets: Vars,
}

/// A job with inheritance and variants applied: everything a build needs.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct FrozenJob {
    /// Job name.
    pub name: String,
    /// The inheritance path, base first, this job last.
    pub inheritance: Vec<String>,
    /// Free text.
    pub description: Option<String>,
    /// Pre-run playbooks, parents' first.
    pub pre_run: Vec<PlaybookRef>,
    /// Run playbooks.
    pub run: Vec<PlaybookRef>,
    /// Post-run playbooks, children's first.
    pub post_run: Vec<PlaybookRef>,
    /// Cleanup playbooks, children's first.
    pub cleanup_run: Vec<PlaybookRef>,
    /// Nodes to run on (the first alternative when there are several).
    pub nodeset: Nodeset,
    /// Every nodeset to try in order, when the job names alternatives; else empty.
    pub nodeset_alternatives: Vec<Nodeset>,
    /// Seconds the run phase may take; `None`: no limit.
    pub timeout: Option<u64>,
    /// Seconds the pre-run phase may take.
    pub pre_timeout: Option<u64>,
    /// Seconds the post-run phase may take.
    pub post_timeout: Option<u64>,
    /// Whether the result counts.
    pub voting: bool,
    /// Tries when pre-run fails (Zuul's default: 3).
    pub attempts: u32,
    /// Merged job variables (project vars under them).
    pub vars: Vars,
    /// Variables that override every other kind.
    pub extra_vars: Vars,
    /// Per host, variables (over job vars, under extra vars).
    pub host_vars: Vars,
    /// Per group, variables (over job vars, under host vars).
    pub group_vars: Vars,
    /// Roles to install, parents' first.
    pub roles: Vec<RoleRef>,
    /// Projects to check out.
    pub required_projects: Vec<RequiredProject>,
    /// Semaphores held while the job runs, sorted.
    pub semaphores: Vec<String>,
    /// Jobs of this graph that must finish first.
    pub dependencies: Vec<JobDependency>,
    /// Artifacts provided, sorted.
    pub provides: Vec<String>,
    /// Artifacts required, sorted.
    pub requires: Vec<String>,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Report text on success.
    pub success_message: Option<String>,
    /// Report text on failure.
    pub failure_message: Option<String>,
    /// Whether changes behind wait for this job in a dependent pipeline.
    pub hold_following_changes: bool,
    /// `golang`, `flat` or `unique`.
    pub workspace_scheme: String,
    /// `None`: auto.
    pub deduplicate: Option<bool>,
    /// Branch to check out in every project that has it.
    pub override_checkout: Option<String>,
    /// Whether the job may only run in post-review pipelines.
    pub post_review: bool,
    /// Projects allowed to run the job; `None`: all.
    pub allowed_projects: Option<Vec<String>>,
    /// Whether a change to the job's config overrides its file matchers.
    pub match_on_config_updates: bool,
    /// Files that make the job run.
    pub files: MatcherList,
    /// Files that alone do not make the job run.
    pub irrelevant_files: MatcherList,
    /// Secrets the playbooks get.
    pub secrets: Vec<SecretUse>,
    /// Ansible version, when set.
    pub ansible_version: Option<String>,
}

impl FrozenJob {
    /// A job named `name` with nothing set but Zuul's defaults.
    pub fn named(name: &str) -> FrozenJob {
        FrozenJob {
            name: name.to_string(),
            voting: true,
            attempts: 3,
            workspace_scheme: "golang".into(),
            match_on_config_updates: true,
            ..FrozenJob::default()
        }
    }
}

/// Freezes the job graph of `project` on `branch` in `pipeline`, not knowing the changed files.
/// An unknown pipeline or project has no jobs; an unknown job is an error.
pub fn freeze_job_graph(
    layout: &Layout,
    pipeline: &str,
    project: &str,
    branch: &str,
) -> Result<Vec<FrozenJob>, ConfigError> {
    freeze_job_graph_for_files(layout, pipeline, project, branch, None)
}

impl PlaybookRef {
    /// The playbook at `path` in the repo (and commit) of `source`.
    pub fn at(source: &Source, path: &str) -> PlaybookRef {
        PlaybookRef {
            connection: source.connection.clone(),
            project: source.project.clone(),
            branch: source.branch.clone(),
            commit: source.commit.clone(),
            path: path.to_string(),
            trusted: source.trusted,
            semaphores: Vec::new(),
            cleanup: false,
            secrets: Vars::new(),
        }
    }

    /// The playbook a job names, in the repo of `source`.
    pub fn of(source: &Source, def: &PlaybookDef) -> PlaybookRef {
        PlaybookRef {
            semaphores: def.semaphores.clone(),
            cleanup: def.cleanup,
            ..PlaybookRef::at(source, &def.path)
        }
    }
}

/// Merges `child` into `base`: mappings merge key by key, anything else the child replaces.
pub fn merge_vars(base: &mut Vars, child: &Vars) {
    for (key, value) in child {
        match (base.get_mut(key), value) {
            (Some(serde_json::Value::Object(mine)), serde_json::Value::Object(theirs)) => {
                merge_vars(mine, theirs)
            }
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}
