//! Pipeline managers: which change queue an item joins, how big its window
//! is, and how a queue is walked ([`Rules`]). One module per manager, as Zuul
//! names them.

mod dependent;
mod independent;
mod serial;
mod supercedent;

use portcullis_config::pipeline::{Manager, Pipeline, Window};
use portcullis_config::Layout;

use super::change_queue::{ChangeQueue, Rules};
use crate::change::MergeMode;
use crate::event::ItemRef;

/// The change queue an item joins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePlace {
    /// Queue name.
    pub name: String,
    /// The branch, for queues kept per branch (or per ref).
    pub branch: Option<String>,
    /// True when every item gets a queue of its own (independent pipelines).
    pub own: bool,
}

/// How `manager` walks its queues.
pub fn rules(manager: Manager) -> Rules {
    match manager {
        Manager::Independent => independent::RULES,
        Manager::Dependent => dependent::RULES,
        Manager::Serial => serial::RULES,
        Manager::Supercedent => supercedent::RULES,
    }
}

/// The queue `item` joins in `pipeline`.
pub fn place(layout: &Layout, pipeline: &Pipeline, item: &ItemRef) -> QueuePlace {
    match pipeline.manager {
        Manager::Independent => independent::place(item),
        Manager::Dependent => dependent::place(layout, &pipeline.name, item),
        Manager::Serial => serial::place(layout, &pipeline.name, item),
        Manager::Supercedent => supercedent::place(item),
    }
}

/// The window a new queue of `pipeline` starts with.
pub fn window(pipeline: &Pipeline) -> Window {
    match pipeline.manager {
        Manager::Independent => independent::window(),
        Manager::Dependent => pipeline.window,
        Manager::Serial => serial::window(),
        Manager::Supercedent => supercedent::window(),
    }
}

/// Items a new item replaces when it joins `queue` (their ids).
pub fn superseded(manager: Manager, queue: &ChangeQueue) -> Vec<String> {
    match manager {
        Manager::Supercedent => supercedent::superseded(queue),
        _ => Vec::new(),
    }
}

/// A window that lets one item through at a time and never changes.
fn one_at_a_time() -> Window {
    Window {
        initial: 1,
        floor: 1,
        ceiling: Some(1),
        ..Window::default()
    }
}

/// The shared queue named by the project's config, as a place: per branch
/// when the queue says so. `None` when the project names no queue.
fn shared_queue(layout: &Layout, pipeline: &str, item: &ItemRef) -> Option<QueuePlace> {
    let branch = item.branch.clone().unwrap_or_default();
    let config = layout.project_pipeline_config(&item.project, pipeline, &branch);
    let name = config.queue?;
    let per_branch = layout.queues.get(&name).is_some_and(|q| q.per_branch);
    Some(QueuePlace {
        name,
        branch: per_branch.then_some(branch),
        own: false,
    })
}

/// Whether the queue `item`'s project names lets changes in a dependency cycle in.
pub fn allows_cycles(layout: &Layout, pipeline: &str, item: &ItemRef) -> bool {
    let branch = item.branch.clone().unwrap_or_default();
    let config = layout.project_pipeline_config(&item.project, pipeline, &branch);
    let queue = config.queue.and_then(|name| layout.queues.get(&name));
    queue.is_some_and(|q| q.allow_circular_dependencies)
}

/// How a project's changes merge, from its `merge-mode` (the last stanza that sets it).
pub fn merge_mode(layout: &Layout, project: &str) -> MergeMode {
    let mode = layout
        .project_stanzas(project)
        .into_iter()
        .filter_map(|stanza| stanza.merge_mode.clone())
        .next_back();
    match mode.as_deref() {
        Some("merge-resolve") => MergeMode::MergeResolve,
        Some("cherry-pick") => MergeMode::CherryPick,
        Some("squash-merge") => MergeMode::SquashMerge,
        Some("rebase") => MergeMode::Rebase,
        _ => MergeMode::Merge,
    }
}
