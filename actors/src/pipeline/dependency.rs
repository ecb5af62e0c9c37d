//! Needed changes: what a change needs merged before it (its Depends-On
//! footers and its git parents), looked up among the tenant's known changes.
//!
//! As in Zuul, a needed change that is merged is no need; one that is unknown
//! is ignored; one that is abandoned, or a git parent whose change has moved
//! on to another patchset, makes the change impossible to merge.

use crate::event::{ItemRef, TriggerEvent};
use crate::known_changes::{ChangeStatus, KnownChanges};

/// Why a change cannot enter a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A needed change cannot merge (abandoned, outdated patchset, another queue, ...).
    Blocked(String),
    /// The change is part of a dependency cycle (the changes in it, as `project~N`).
    Cycle(Vec<String>),
}

/// `project~number`: how reports name a change.
pub fn name(item: &ItemRef) -> String {
    let number = item.change.as_ref().map_or(0, |c| c.number);
    format!("{}~{number}", item.project)
}

/// The open changes `item` needs directly, as the events of their latest patchsets.
pub fn direct(known: &KnownChanges, item: &ItemRef) -> Result<Vec<TriggerEvent>, Refusal> {
    let Some(change) = &item.change else {
        return Ok(Vec::new());
    };
    let mut needed = Vec::new();
    for reference in &change.depends_on {
        let Some(found) = known.named(reference) else {
            tracing::debug!(change = %name(item), %reference, "unknown Depends-On; ignored");
            continue;
        };
        match found.status {
            ChangeStatus::Merged => {}
            ChangeStatus::Abandoned => {
                return Err(Refusal::Blocked(format!(
                    "it depends on {reference}, which is abandoned"
                )))
            }
            ChangeStatus::Open => needed.push(found.event),
        }
    }
    for parent in &change.parents {
        let Some(found) = known.get(&parent.project, parent.number) else {
            continue;
        };
        let current = found.event.change.as_ref().map(|c| c.patchset.as_str());
        let parent_name = format!("{}~{}", parent.project, parent.number);
        match found.status {
            ChangeStatus::Merged => {}
            ChangeStatus::Abandoned => {
                return Err(Refusal::Blocked(format!(
                    "it builds on {parent_name}, which is abandoned"
                )))
            }
            ChangeStatus::Open if current != Some(parent.patchset.as_str()) => {
                return Err(Refusal::Blocked(format!(
                    "it builds on an outdated patchset of {parent_name}"
                )))
            }
            ChangeStatus::Open => needed.push(found.event),
        }
    }
    let mut unique: Vec<TriggerEvent> = Vec::new();
    for event in needed {
        if !unique.iter().any(|e| same_change(e, &event)) {
            unique.push(event);
        }
    }
    Ok(unique)
}

/// Every open change `item` needs, directly or through others, dependencies
/// first (each after what it needs).
pub fn closure(known: &KnownChanges, item: &ItemRef) -> Result<Vec<TriggerEvent>, Refusal> {
    let mut path = vec![name(item)];
    let mut done = Vec::new();
    visit(known, item, &mut path, &mut done)?;
    Ok(done)
}

fn visit(
    known: &KnownChanges,
    item: &ItemRef,
    path: &mut Vec<String>,
    done: &mut Vec<TriggerEvent>,
) -> Result<(), Refusal> {
    for event in direct(known, item)? {
        let needed = ItemRef::from_event(&event);
        let needed_name = name(&needed);
        if let Some(at) = path.iter().position(|n| *n == needed_name) {
            return Err(Refusal::Cycle(path[at..].to_vec()));
        }
        if done.iter().any(|e| same_change(e, &event)) {
            continue;
        }
        path.push(needed_name);
        visit(known, &needed, path, done)?;
        path.pop();
        done.push(event);
    }
    Ok(())
}

/// Whether two events are about the same change (any patchset).
pub fn same_change(a: &TriggerEvent, b: &TriggerEvent) -> bool {
    let number = |e: &TriggerEvent| e.change.as_ref().map(|c| c.number);
    a.project == b.project && number(a).is_some() && number(a) == number(b)
}
