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
    pub event: Arc<TriggerEvent>,
    /// Where it stands.
    pub status: ChangeStatus,
}

/// The known changes, by project and number, and by URL.
#[derive(Debug, Default)]
pub struct Changes {
    by_project: HashMap<String, HashMap<u64, KnownChange>>,
    by_url: HashMap<String, (String, u64)>,
}

impl Changes {
    /// The change `number` of `project`.
    pub fn get(&self, project: &str, number: u64) -> Option<&KnownChange> {
        self.by_project.get(project)?.get(&number)
    }

    /// The change a Depends-On value names: `<project>~<number>`, or its URL.
    pub fn named(&self, reference: &str) -> Option<&KnownChange> {
        if let Some((project, number)) = reference.rsplit_once('~') {
            if let Ok(number) = number.parse() {
                return self.get(project, number);
            }
        }
        let (project, number) = self.by_url.get(reference)?;
        self.get(project, *number)
    }
}

/// A tenant's known changes; cheap to clone, shared with its pipelines.
#[derive(Clone, Default)]
pub struct KnownChanges(Arc<Mutex<Changes>>);

impl KnownChanges {
    fn lock(&self) -> std::sync::MutexGuard<'_, Changes> {
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
        let mut changes = self.lock();
        if let Some(url) = &change.url {
            let key = (event.project.clone(), change.number);
            changes.by_url.insert(url.clone(), key);
        }
        let of_project = changes.by_project.entry(event.project.clone()).or_default();
        match of_project.get_mut(&change.number) {
            // An abandonment carries no message; keep what the patchset said.
            Some(known) if status != ChangeStatus::Open => known.status = status,
            _ => {
                let event = Arc::new(event.clone());
                of_project.insert(change.number, KnownChange { event, status });
            }
        }
    }

    /// Takes in an event about a change unless the change is known already:
    /// what a restored item says of its change is older than any event since.
    pub fn recall(&self, event: &TriggerEvent) {
        let Some(change) = &event.change else {
            return;
        };
        if self.get(&event.project, change.number).is_none() {
            self.observe(event);
        }
    }

    /// Marks a change merged (the gate merged it).
    pub fn merged(&self, project: &str, number: u64) {
        let mut changes = self.lock();
        let known = changes.by_project.get_mut(project);
        if let Some(known) = known.and_then(|p| p.get_mut(&number)) {
            known.status = ChangeStatus::Merged;
        }
    }

    /// The change `number` of `project`.
    pub fn get(&self, project: &str, number: u64) -> Option<KnownChange> {
        self.lock().get(project, number).cloned()
    }

    /// Runs `read` on the known changes, holding them still meanwhile.
    pub fn read<R>(&self, read: impl FnOnce(&Changes) -> R) -> R {
        read(&self.lock())
    }
}
