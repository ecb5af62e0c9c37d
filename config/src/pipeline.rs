//! Pipelines: when items are enqueued, how they are managed, and where results go.
//!
//! [`RawPipeline`] is the stanza as written; [`RawPipeline::check`] turns it
//! into a [`Pipeline`] once the connections and their drivers are known.
//! Every attribute Zuul documents is stored with Zuul's default, also those
//! only some managers use (the window of a dependent pipeline).

mod raw;

use regex::Regex;
use serde::Serialize;

pub use raw::{RawPipeline, RawTrigger};

/// How a pipeline manages its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Manager {
    /// Every item on its own; no order between items.
    Independent,
    /// Gating: items of a shared queue are tested speculatively in order.
    Dependent,
    /// Shared queues, one item of each processed at a time.
    Serial,
    /// One item per project and ref; newer items replace waiting ones.
    Supercedent,
}

impl Manager {
    /// The manager's name as written in config.
    pub fn name(self) -> &'static str {
        match self {
            Manager::Independent => "independent",
            Manager::Dependent => "dependent",
            Manager::Serial => "serial",
            Manager::Supercedent => "supercedent",
        }
    }
}

/// How the build scheduler ranks a pipeline's jobs against other pipelines'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Precedence {
    /// Runs after the others.
    Low,
    /// The default.
    #[default]
    Normal,
    /// Runs before the others.
    High,
}

/// A pipeline of a tenant's layout.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Pipeline name.
    pub name: String,
    /// Free text shown in the UI.
    pub description: Option<String>,
    /// The manager.
    pub manager: Manager,
    /// Triggers: an event matching any of them enqueues an item.
    pub triggers: Vec<Trigger>,
    /// Reporters when an item starts.
    pub start: Vec<Reporter>,
    /// Reporters when every voting job succeeded.
    pub success: Vec<Reporter>,
    /// Reporters when a voting job did not succeed.
    pub failure: Vec<Reporter>,
    /// Reporters for every other action (enqueue, merge-conflict, ...).
    pub reporters: ActionReporters,
    /// Conditions an item must meet to enter, per connection.
    pub require: Vec<Requirement>,
    /// Conditions that keep an item out, per connection.
    pub reject: Vec<Requirement>,
    /// Scheduling rank against other pipelines.
    pub precedence: Precedence,
    /// Pipelines an item leaves when it enters this one.
    pub supercedes: Vec<String>,
    /// True when the pipeline runs on reviewed changes (post-review jobs allowed).
    pub post_review: bool,
    /// Whether an item is removed when its change gets a new patchset.
    pub dequeue_on_new_patchset: bool,
    /// Whether dependencies are left out of independent pipelines.
    pub ignore_dependencies: bool,
    /// Whether items may come from connections the pipeline does not name.
    pub allow_other_connections: bool,
    /// Whether an enqueue request may carry job parameters.
    pub allow_parameters: bool,
    /// Consecutive failed items after which the pipeline stops reporting.
    pub disable_after_consecutive_failures: Option<u32>,
    /// Rate limiting of a dependent pipeline.
    pub window: Window,
    /// Texts of the reports.
    pub messages: Messages,
}

/// Reporters of the actions beyond start, success and failure.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionReporters {
    /// When an item enters the pipeline.
    pub enqueue: Vec<Reporter>,
    /// When an item cannot be merged; the failure reporters when empty.
    pub merge_conflict: Vec<Reporter>,
    /// When an item has a config error; the failure reporters when empty.
    pub config_error: Vec<Reporter>,
    /// When an item leaves without running jobs.
    pub no_jobs: Vec<Reporter>,
    /// When the pipeline becomes disabled.
    pub disabled: Vec<Reporter>,
    /// When a started item leaves without a result.
    pub dequeue: Vec<Reporter>,
}

/// A pipeline's active window (dependent pipelines), as Zuul defaults it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Window {
    /// Initial size; 0 means no limit.
    pub initial: u32,
    /// Smallest size.
    pub floor: u32,
    /// Largest size; `None`: no limit.
    pub ceiling: Option<u32>,
    /// How the window grows after a merge.
    pub increase: WindowChange,
    /// How the window shrinks after a failure.
    pub decrease: WindowChange,
}

/// One direction of window change: the kind and its factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WindowChange {
    /// Add/subtract or multiply/divide.
    pub kind: WindowChangeKind,
    /// The amount.
    pub factor: u32,
}

/// Whether a window change adds or multiplies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WindowChangeKind {
    /// By adding or subtracting the factor.
    Linear,
    /// By multiplying or dividing by the factor.
    Exponential,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            initial: 20,
            floor: 3,
            ceiling: None,
            increase: WindowChange {
                kind: WindowChangeKind::Linear,
                factor: 1,
            },
            decrease: WindowChange {
                kind: WindowChangeKind::Exponential,
                factor: 2,
            },
        }
    }
}

/// The introductory texts of reports, with Zuul's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Messages {
    /// On success.
    pub success: String,
    /// On failure.
    pub failure: String,
    /// When jobs start; `{pipeline.name}` is replaced when reporting.
    pub start: String,
    /// When an item is enqueued.
    pub enqueue: String,
    /// On a merge conflict.
    pub merge_conflict: String,
    /// When no jobs ran.
    pub no_jobs: String,
    /// When an item is dequeued without a result.
    pub dequeue: String,
    /// Appended to every report.
    pub footer: String,
}

/// Zuul's default merge-conflict text.
const MERGE_CONFLICT: &str = "Merge Failed.\n\nThis change or one of its cross-repo dependencies \
was unable to be automatically merged with the current state of its repository. \
Please rebase the change and upload a new patchset.";

impl Default for Messages {
    fn default() -> Self {
        Messages {
            success: "Build succeeded.".into(),
            failure: "Build failed.".into(),
            start: "Starting {pipeline.name} jobs.".into(),
            enqueue: String::new(),
            merge_conflict: MERGE_CONFLICT.into(),
            no_jobs: String::new(),
            dequeue: "Build canceled.".into(),
            footer: String::new(),
        }
    }
}

/// A requirement (or rejection) on one connection, in the driver's own terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    /// Connection name.
    pub connection: String,
    /// The driver's settings as written.
    pub settings: serde_json::Value,
}

/// One trigger of a pipeline on a git connection.
#[derive(Debug, Clone)]
pub struct Trigger {
    /// Connection whose events this trigger takes.
    pub connection: String,
    /// Event types (`ref-updated`).
    pub events: Vec<String>,
    /// Ref regexes; empty matches every ref.
    pub refs: Vec<Regex>,
    /// Ignore ref deletions (newrev all zeros).
    pub ignore_deletes: bool,
}

/// One reporter of a pipeline action: the connection and its (driver-specific) settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Reporter {
    /// Connection name.
    pub connection: String,
    /// The reporter's settings as written.
    pub settings: serde_json::Value,
}

/// The facts of an event that triggers match on.
#[derive(Debug, Clone, Copy)]
pub struct EventFacts<'a> {
    /// Connection the event came from.
    pub connection: &'a str,
    /// Event type, e.g. `ref-updated`.
    pub event_type: &'a str,
    /// Full ref name, e.g. `refs/heads/main`.
    pub ref_name: &'a str,
    /// True when the ref was deleted.
    pub deleted: bool,
}

impl Trigger {
    /// True when the event matches this trigger.
    pub fn matches(&self, event: &EventFacts<'_>) -> bool {
        event.connection == self.connection
            && self.events.iter().any(|e| e == event.event_type)
            && (self.refs.is_empty() || self.refs.iter().any(|r| r.is_match(event.ref_name)))
            && !(self.ignore_deletes && event.deleted)
    }
}

impl Pipeline {
    /// True when any trigger matches the event.
    pub fn is_triggered_by(&self, event: &EventFacts<'_>) -> bool {
        self.triggers.iter().any(|t| t.matches(event))
    }

    /// The reporters of a merge conflict: its own, or the failure reporters as in Zuul.
    pub fn merge_conflict_reporters(&self) -> &[Reporter] {
        match self.reporters.merge_conflict.is_empty() {
            true => &self.failure,
            false => &self.reporters.merge_conflict,
        }
    }

    /// The reporters of a config error: its own, or the failure reporters as in Zuul.
    pub fn config_error_reporters(&self) -> &[Reporter] {
        match self.reporters.config_error.is_empty() {
            true => &self.failure,
            false => &self.reporters.config_error,
        }
    }
}

#[cfg(test)]
mod tests;
