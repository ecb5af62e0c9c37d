//! Trigger events and the ref an item is about.

use chrono::{DateTime, Utc};
use portcullis_config::pipeline::EventFacts;
use serde::{Deserialize, Serialize};

use crate::change::ChangeRef;

/// The null revision git uses for a ref that does not exist (before a create, after a delete).
pub const NULL_REV: &str = "0000000000000000000000000000000000000000";

/// Something that happened in a connection: for now a ref update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerEvent {
    /// Unique id of the event (goes into the buildset's event_id).
    pub id: String,
    /// When the driver saw it.
    pub timestamp: DateTime<Utc>,
    /// Connection name.
    pub connection: String,
    /// Event type as triggers name it (`ref-updated`).
    pub event_type: String,
    /// Project name.
    pub project: String,
    /// Full ref name (`refs/heads/main`, `refs/tags/v1`).
    pub ref_name: String,
    /// Revision before the update ([`NULL_REV`] for a new ref).
    pub oldrev: String,
    /// Revision after the update ([`NULL_REV`] for a deleted ref).
    pub newrev: String,
    /// The proposed change the event is about (`patchset-created`, `change-abandoned`, ...).
    pub change: Option<ChangeRef>,
}

impl TriggerEvent {
    /// A `ref-updated` event with a fresh id, stamped now.
    pub fn ref_updated(
        connection: &str,
        project: &str,
        ref_name: &str,
        oldrev: &str,
        newrev: &str,
    ) -> Self {
        TriggerEvent {
            id: uuid::Uuid::new_v4().simple().to_string(),
            timestamp: Utc::now(),
            connection: connection.into(),
            event_type: "ref-updated".into(),
            project: project.into(),
            ref_name: ref_name.into(),
            oldrev: oldrev.into(),
            newrev: newrev.into(),
            change: None,
        }
    }

    /// An event of `event_type` about `change`, proposed for `branch`, with a fresh id.
    /// The ref is the branch; `newrev` is the change's patchset.
    pub fn for_change(
        connection: &str,
        event_type: &str,
        project: &str,
        branch: &str,
        change: ChangeRef,
    ) -> Self {
        TriggerEvent {
            id: uuid::Uuid::new_v4().simple().to_string(),
            timestamp: Utc::now(),
            connection: connection.into(),
            event_type: event_type.into(),
            project: project.into(),
            ref_name: format!("refs/heads/{branch}"),
            oldrev: NULL_REV.into(),
            newrev: change.patchset.clone(),
            change: Some(change),
        }
    }

    /// The facts pipeline triggers match on.
    pub fn facts(&self) -> EventFacts<'_> {
        EventFacts {
            connection: &self.connection,
            event_type: &self.event_type,
            ref_name: &self.ref_name,
            deleted: self.newrev == NULL_REV,
        }
    }
}

/// The ref an item tests: a branch or tag of a project at a revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemRef {
    /// Connection name.
    pub connection: String,
    /// Project name.
    pub project: String,
    /// Full ref name.
    pub ref_name: String,
    /// Branch name when the ref is a branch.
    pub branch: Option<String>,
    /// Tag name when the ref is a tag.
    pub tag: Option<String>,
    /// Revision before.
    pub oldrev: String,
    /// Revision under test.
    pub newrev: String,
    /// The proposed change, when the item is one (not a plain ref update).
    pub change: Option<ChangeRef>,
}

impl ItemRef {
    /// The ref an event is about.
    pub fn from_event(event: &TriggerEvent) -> ItemRef {
        ItemRef {
            connection: event.connection.clone(),
            project: event.project.clone(),
            ref_name: event.ref_name.clone(),
            branch: event
                .ref_name
                .strip_prefix("refs/heads/")
                .map(str::to_string),
            tag: event
                .ref_name
                .strip_prefix("refs/tags/")
                .map(str::to_string),
            oldrev: event.oldrev.clone(),
            newrev: event.newrev.clone(),
            change: event.change.clone(),
        }
    }

    /// The id Zuul shows for it: `N,P` for a change, else the new revision.
    pub fn id(&self) -> String {
        match &self.change {
            Some(change) => format!("{},{}", change.number, change.patchset),
            None => self.newrev.clone(),
        }
    }

    /// Whether this item is of the change `event` is about (any patchset).
    pub fn is_change_of(&self, event: &TriggerEvent) -> bool {
        let number = |c: &Option<ChangeRef>| c.as_ref().map(|c| c.number);
        self.project == event.project
            && self.change.is_some()
            && number(&self.change) == number(&event.change)
    }
}
