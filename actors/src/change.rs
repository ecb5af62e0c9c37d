//! Proposed changes and speculative repo states: what gating needs from the
//! world, as data and as the ports `src/` implements.

use std::collections::BTreeMap;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::event::ItemRef;
use crate::result::BuildResult;

/// A proposed change: on plain git, a review branch; on review systems, a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRef {
    /// The change number (unique per connection).
    pub number: u64,
    /// The patchset (on plain git: the review branch's head sha).
    pub patchset: String,
    /// A link to the change, when there is one.
    pub url: Option<String>,
    /// The head commit's message (for Depends-On footers and reports).
    pub message: String,
    /// The changes this one depends on, as written in its Depends-On footers.
    pub depends_on: Vec<String>,
    /// Patchsets of other open changes its commits build on (its git parents),
    /// nearest first: it needs them merged first, at exactly these patchsets.
    pub parents: Vec<PatchsetRef>,
}

/// One patchset of a change of the same connection, as a git parent names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PatchsetRef {
    /// Project name.
    pub project: String,
    /// Change number.
    pub number: u64,
    /// The patchset (on plain git: the commit sha).
    pub patchset: String,
}

/// How a change is merged into its target branch (a project's merge-mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MergeMode {
    /// A merge commit when needed (fast-forward otherwise).
    #[default]
    Merge,
    /// A merge commit with git's resolve strategy.
    MergeResolve,
    /// Each commit of the change cherry-picked.
    CherryPick,
    /// The change's commits squashed into one.
    SquashMerge,
    /// The change's commits rebased onto the branch.
    Rebase,
}

/// One change of a speculative state, in queue order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeItem {
    /// The ref or change.
    pub item: ItemRef,
    /// How to merge it.
    pub mode: MergeMode,
}

/// Asks for the speculative state of an item: the target branches plus every
/// item ahead plus the item itself, in every project its jobs need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeRequest {
    /// The item's uuid (names the refs the state is kept under).
    pub item_uuid: String,
    /// The items ahead, then the item itself, in queue order.
    pub items: Vec<MergeItem>,
    /// Other (connection, project, branch) the jobs need checked out at their branch heads.
    pub required: Vec<(String, String, String)>,
}

/// A speculative state: one commit per (connection, project).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct MergeState {
    /// The commit to test, by (connection, project).
    pub commits: BTreeMap<(String, String), String>,
}

/// Why a speculative state could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// The item conflicts with its target branch or an item ahead (MERGE_CONFLICT).
    #[error("merge conflict in {project}: {detail}")]
    Conflict {
        /// The project where it conflicts.
        project: String,
        /// What git said.
        detail: String,
    },
    /// Anything else (a repo that cannot be read, a commit that is gone).
    #[error("{0}")]
    Failed(String),
}

/// Makes speculative states. Runs off the actor threads.
pub trait SpeculativeMerger: Send + Sync + 'static {
    /// Builds the state for `request`.
    fn merge(&self, request: MergeRequest) -> BoxFuture<'static, Result<MergeState, MergeError>>;

    /// The files `item` itself changes, which its jobs' file matchers look at: a
    /// change's commits against their merge base with its target branch, a ref
    /// update's oldrev..newrev; `None` when not known (a new ref, a revision
    /// the merger cannot find), so every job runs. Asked once per item, and
    /// only when a job has file matchers.
    fn changed_files(&self, item: &ItemRef) -> BoxFuture<'static, Option<Vec<String>>>;

    /// Lets go of what was kept for the state of `item_uuid`, which has left its
    /// pipeline; merging nothing more for it. Without an override, nothing is kept.
    fn release(&self, item_uuid: &str, state: &MergeState) {
        let _ = (item_uuid, state);
    }
}

/// One report of an item's result through one reporter of a pipeline action.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The reporter's connection.
    pub connection: String,
    /// The reporter's settings as written in the pipeline (e.g. `{merge: true}`).
    pub settings: serde_json::Value,
    /// The item's ref or change.
    pub item: ItemRef,
    /// How to merge, when the settings ask for a merge.
    pub mode: MergeMode,
    /// The buildset's result.
    pub result: BuildResult,
    /// The report text.
    pub message: String,
}

/// Why a report failed; a failed merge makes the item MERGE_FAILURE.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReportError(pub String);

/// Sends reports to connections (votes, comments, merges).
pub trait Reporter: Send + Sync + 'static {
    /// Delivers one report.
    fn report(&self, report: Report) -> BoxFuture<'static, Result<(), ReportError>>;
}
