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
/// first (each after what it needs, but inside a cycle, which has no first).
/// A cycle is refused unless `cycles` allows it.
pub fn closure(
    known: &KnownChanges,
    item: &ItemRef,
    cycles: bool,
) -> Result<Vec<TriggerEvent>, Refusal> {
    let mut walk = Walk {
        known,
        cycles,
        path: vec![name(item)],
        done: Vec::new(),
    };
    walk.visit(item)?;
    Ok(walk.done)
}

/// A depth-first walk over needed changes.
struct Walk<'a> {
    known: &'a KnownChanges,
    cycles: bool,
    /// The changes from the root to the one visited.
    path: Vec<String>,
    /// The changes visited, in the order they go into the queue.
    done: Vec<TriggerEvent>,
}

impl Walk<'_> {
    fn visit(&mut self, item: &ItemRef) -> Result<(), Refusal> {
        for event in direct(self.known, item)? {
            let needed = ItemRef::from_event(&event);
            let needed_name = name(&needed);
            if let Some(at) = self.path.iter().position(|n| *n == needed_name) {
                match self.cycles {
                    true => continue,
                    false => return Err(Refusal::Cycle(self.path[at..].to_vec())),
                }
            }
            if self.done.iter().any(|e| same_change(e, &event)) {
                continue;
            }
            self.path.push(needed_name);
            self.visit(&needed)?;
            self.path.pop();
            self.done.push(event);
        }
        Ok(())
    }
}

/// The cycles among `events` (changes about to be queued, in order): for
/// each event, the index of the first event of its cycle, or `None` when it
/// is in no cycle.
pub fn cycles(known: &KnownChanges, events: &[TriggerEvent]) -> Vec<Option<usize>> {
    let needs: Vec<Vec<usize>> = events
        .iter()
        .map(|event| {
            let needed = direct(known, &ItemRef::from_event(event)).unwrap_or_default();
            let within = |n: &TriggerEvent| events.iter().position(|e| same_change(e, n));
            needed.iter().filter_map(within).collect()
        })
        .collect();
    let reach: Vec<Vec<bool>> = (0..events.len()).map(|i| reachable(&needs, i)).collect();
    let mutual = |i: usize, j: usize| reach[i][j] && reach[j][i];
    let all = 0..events.len();
    all.clone()
        .map(|i| {
            let in_cycle = all.clone().any(|j| j != i && mutual(i, j));
            in_cycle.then(|| all.clone().find(|&k| k == i || mutual(i, k)).unwrap_or(i))
        })
        .collect()
}

/// Which events `from` reaches through its needs.
fn reachable(needs: &[Vec<usize>], from: usize) -> Vec<bool> {
    let mut seen = vec![false; needs.len()];
    let mut stack = needs[from].clone();
    while let Some(next) = stack.pop() {
        if !std::mem::replace(&mut seen[next], true) {
            stack.extend(&needs[next]);
        }
    }
    seen
}

/// Whether two events are about the same change (any patchset).
pub fn same_change(a: &TriggerEvent, b: &TriggerEvent) -> bool {
    let number = |e: &TriggerEvent| e.change.as_ref().map(|c| c.number);
    a.project == b.project && number(a).is_some() && number(a) == number(b)
}
