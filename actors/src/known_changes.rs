//! The changes a tenant was told of: each one's latest patchset and whether it
//! is open, merged or abandoned. Pipelines read it to find the changes an item
//! needs (Depends-On, git parents) and tell it when they merged one, so a
//! change merged by the gate is not taken as open before its driver says so.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::event::TriggerEvent;

/// Where a change stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeStatus {
    /// Open for review.
    Open,
    /// Merged into its target branch.
    Merged,
    /// Abandoned (on plain git: its review branch was deleted).
    Abandoned,
}

/// One known change: the event of its latest patchset and its status.
#[derive(Debug, Clone)]
pub struct KnownChange {
    /// The latest event about it that carries a patchset (what an enqueue is made from).
    pub event: TriggerEvent,
    /// Where it stands.
    pub status: ChangeStatus,
}

/// A tenant's known changes by (project, number); cheap to clone, shared with its pipelines.
#[derive(Clone, Default)]
pub struct KnownChanges(Arc<Mutex<HashMap<(String, u64), KnownChange>>>);

impl KnownChanges {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, u64), KnownChange>> {
        // A panic while holding the lock leaves plain data behind; keep going.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes in an event about a change: a new patchset, a merge or an abandonment.
    pub fn observe(&self, event: &TriggerEvent) {
        let Some(change) = &event.change else {
            return;
        };
        let status = match event.event_type.as_str() {
            "change-merged" => ChangeStatus::Merged,
            "change-abandoned" => ChangeStatus::Abandoned,
            _ => ChangeStatus::Open,
        };
        let key = (event.project.clone(), change.number);
        let mut known = self.lock();
        match known.get_mut(&key) {
            // An abandonment carries no message; keep what the patchset said.
            Some(entry) if status != ChangeStatus::Open => entry.status = status,
            _ => {
                let event = event.clone();
                known.insert(key, KnownChange { event, status });
            }
        }
    }

    /// Marks a change merged (the gate merged it).
    pub fn merged(&self, project: &str, number: u64) {
        if let Some(entry) = self.lock().get_mut(&(project.to_string(), number)) {
            entry.status = ChangeStatus::Merged;
        }
    }

    /// The change `number` of `project`.
    pub fn get(&self, project: &str, number: u64) -> Option<KnownChange> {
        self.lock().get(&(project.to_string(), number)).cloned()
    }

    /// The change a Depends-On value names: `<project>~<number>`, or its URL.
    pub fn named(&self, reference: &str) -> Option<KnownChange> {
        if let Some((project, number)) = reference.rsplit_once('~') {
            if let Ok(number) = number.parse() {
                return self.get(project, number);
            }
        }
        let known = self.lock();
        let by_url = known.values().find(|k| {
            let url = k.event.change.as_ref().and_then(|c| c.url.as_deref());
            url == Some(reference)
        });
        by_url.cloned()
    }
}
