//! Pipelines: when items are enqueued, how they are managed, and where results go.

use regex::Regex;

/// How a pipeline manages its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    /// Every item on its own; no order between items.
    Independent,
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
}
