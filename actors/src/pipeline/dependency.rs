//! Needed changes: what a change needs merged before it (its Depends-On
//! footers and its git parents), looked up among the tenant's known changes.
//!
//! As in Zuul, a needed change that is merged is no need; one that is unknown
//! is ignored; one that is abandoned, or a git parent whose change has moved
//! on to another patchset, makes the change impossible to merge.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::change::ChangeRef;
use crate::event::{ItemRef, TriggerEvent};
use crate::known_changes::{ChangeStatus, Changes, KnownChanges};

/// Why a change cannot enter a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A needed change cannot merge (abandoned, outdated patchset, another queue, ...).
    Blocked(String),
    /// The change is part of a dependency cycle (the changes in it, as `project~N`).
    Cycle(Vec<String>),
}

/// A change as (project, number).
type Key = (String, u64);

/// `project~number`: how reports name a change.
pub fn name(item: &ItemRef) -> String {
    let number = item.change.as_ref().map_or(0, |c| c.number);
    format!("{}~{number}", item.project)
}

fn key_of(event: &TriggerEvent) -> Key {
    let number = event.change.as_ref().map_or(0, |c| c.number);
    (event.project.clone(), number)
}

/// The open changes `change` of `project` needs directly: their latest patchsets' events.
fn direct<'a>(
    changes: &'a Changes,
    project: &str,
    change: &ChangeRef,
) -> Result<Vec<&'a Arc<TriggerEvent>>, Refusal> {
    let mut needed: Vec<&Arc<TriggerEvent>> = Vec::new();
    for reference in &change.depends_on {
        let Some(found) = changes.named(reference) else {
            tracing::debug!(%project, change = change.number, %reference, "unknown Depends-On; ignored");
            continue;
        };
        match found.status {
            ChangeStatus::Merged => {}
            ChangeStatus::Abandoned => {
                let reason = format!("it depends on {reference}, which is abandoned");
                return Err(Refusal::Blocked(reason));
            }
            ChangeStatus::Open => needed.push(&found.event),
        }
    }
    for parent in &change.parents {
        let Some(found) = changes.get(&parent.project, parent.number) else {
            continue;
        };
        let current = found.event.change.as_ref().map(|c| c.patchset.as_str());
        let parent_name = format!("{}~{}", parent.project, parent.number);
        match found.status {
            ChangeStatus::Merged => {}
            ChangeStatus::Abandoned => {
                let reason = format!("it builds on {parent_name}, which is abandoned");
                return Err(Refusal::Blocked(reason));
            }
            ChangeStatus::Open if current != Some(parent.patchset.as_str()) => {
                let reason = format!("it builds on an outdated patchset of {parent_name}");
                return Err(Refusal::Blocked(reason));
            }
            ChangeStatus::Open => needed.push(&found.event),
        }
    }
    let mut seen = HashSet::new();
    needed.retain(|event| seen.insert(key_of(event)));
    Ok(needed)
}

/// The changes (project, number) `item` needs directly; none when it cannot merge.
pub fn needed_keys(known: &KnownChanges, item: &ItemRef) -> Vec<Key> {
    let Some(change) = &item.change else {
        return Vec::new();
    };
    known.read(|changes| {
        let needed = direct(changes, &item.project, change).unwrap_or_default();
        needed.into_iter().map(|e| key_of(e)).collect()
    })
}

/// Every open change `item` needs, directly or through others, dependencies
/// first (each after what it needs, but inside a cycle, which has no first).
/// A cycle is refused unless `cycles` allows it.
pub fn closure(
    known: &KnownChanges,
    item: &ItemRef,
    cycles: bool,
) -> Result<Vec<Arc<TriggerEvent>>, Refusal> {
    let Some(change) = &item.change else {
        return Ok(Vec::new());
    };
    known.read(|changes| {
        let root = (item.project.clone(), change.number);
        let mut walk = Walk {
            changes,
            cycles,
            path: vec![root.clone()],
            seen: HashSet::from([root]),
            done: Vec::new(),
        };
        walk.visit(&item.project, change)?;
        Ok(walk.done)
    })
}

/// A depth-first walk over needed changes.
struct Walk<'a> {
    changes: &'a Changes,
    cycles: bool,
    /// The changes from the root to the one visited.
    path: Vec<Key>,
    /// Every change met so far (on the path or done).
    seen: HashSet<Key>,
    /// The changes visited, in the order they go into the queue.
    done: Vec<Arc<TriggerEvent>>,
}

impl Walk<'_> {
    fn visit(&mut self, project: &str, change: &ChangeRef) -> Result<(), Refusal> {
        for event in direct(self.changes, project, change)? {
            let key = key_of(event);
            if !self.seen.insert(key.clone()) {
                match self.path.iter().position(|k| *k == key) {
                    Some(at) if !self.cycles => {
                        let cycle = self.path[at..].iter().map(|(p, n)| format!("{p}~{n}"));
                        return Err(Refusal::Cycle(cycle.collect()));
                    }
                    _ => continue,
                }
            }
            self.path.push(key);
            if let Some(needed) = &event.change {
                self.visit(&event.project, needed)?;
            }
            self.path.pop();
            self.done.push(event.clone());
        }
        Ok(())
    }
}

/// The cycles among `events` (changes about to be queued, in order): for
/// each event, the index of the first event of its cycle, or `None` when it
/// is in no cycle.
pub fn cycles(known: &KnownChanges, events: &[Arc<TriggerEvent>]) -> Vec<Option<usize>> {
    let index: HashMap<Key, usize> = (events.iter().enumerate())
        .map(|(i, e)| (key_of(e), i))
        .collect();
    let needs: Vec<Vec<usize>> = known.read(|changes| {
        let of = |event: &Arc<TriggerEvent>| -> Vec<usize> {
            let Some(change) = &event.change else {
                return Vec::new();
            };
            let needed = direct(changes, &event.project, change).unwrap_or_default();
            needed
                .iter()
                .filter_map(|n| index.get(&key_of(n)).copied())
                .collect()
        };
        events.iter().map(of).collect()
    });
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
