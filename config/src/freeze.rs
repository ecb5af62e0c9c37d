//! Freezing: from a layout, the fully inherited jobs one item runs.

use serde::Serialize;

use crate::layout::Layout;
use crate::nodeset::Nodeset;
use crate::ConfigError;

/// A playbook to run, and where its file comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
}

/// A job with inheritance and variants applied: everything a build needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// Nodes to run on.
    pub nodeset: Nodeset,
    /// Seconds the run phase may take; `None`: no limit.
    pub timeout: Option<u64>,
    /// Whether the result counts.
    pub voting: bool,
    /// Merged job variables.
    pub vars: serde_json::Map<String, serde_json::Value>,
}

/// Freezes the job graph of `project` on `branch` in `pipeline`.
pub fn freeze_job_graph(
    layout: &Layout,
    pipeline: &str,
    project: &str,
    branch: &str,
) -> Result<Vec<FrozenJob>, ConfigError> {
    let _ = (layout, pipeline, project, branch);
    todo!("freeze job graph")
}
