//! Change queues: the items of a pipeline in order, their speculative bases,
//! the active window, and the one pass over a queue that decides what to do
//! next (start, reset, cancel, report). Pure; the Pipeline actor carries the
//! actions out. This is Zuul's "nearest non-failing item" walk in small.

use portcullis_config::pipeline::{Window, WindowChangeKind};

use crate::change::{MergeItem, MergeMode, MergeRequest};
use crate::event::ItemRef;
use crate::result::BuildResult;

/// One item in a change queue.
#[derive(Debug, Clone)]
pub struct QueueEntry {
    /// Item id.
    pub id: String,
    /// The ref or change.
    pub item: ItemRef,
    /// How it merges.
    pub mode: MergeMode,
    /// The generation of its current buildset (0: never started).
    pub generation: u32,
    /// Ids of the items ahead its current buildset is built on; `None`: not started.
    pub base: Option<Vec<String>>,
    /// Why it fails; empty while it does not.
    pub failing: Vec<String>,
    /// Its result and report text, once it has one.
    pub outcome: Option<(BuildResult, String)>,
    /// True while its reports are being delivered.
    pub reporting: bool,
    /// Ids of enqueued items whose changes it needs (Depends-On, git parents).
    pub needs: Vec<String>,
    /// Why it cannot merge (a needed change left without merging, or it was
    /// refused): it reports this as a failure without running jobs.
    pub blocked: Option<String>,
    /// Whether a job of it holds the items behind it (`hold-following-changes`).
    pub hold_following: bool,
    /// The generation in which its holding jobs all succeeded (0: none yet).
    pub released: u32,
    /// The id of the first item of its dependency cycle, when it is in one:
    /// the items of a cycle are tested together and report together.
    pub cycle: Option<String>,
    /// False for a needed change carried along in an independent pipeline: it is
    /// part of the items' states behind it, but runs no jobs and reports nothing.
    pub live: bool,
}

impl QueueEntry {
    /// A new, not yet started entry.
    pub fn new(id: String, item: ItemRef, mode: MergeMode) -> Self {
        QueueEntry {
            id,
            item,
            mode,
            generation: 0,
            base: None,
            failing: Vec::new(),
            outcome: None,
            reporting: false,
            needs: Vec::new(),
            blocked: None,
            hold_following: false,
            released: 0,
            cycle: None,
            live: true,
        }
    }
}

/// How a manager runs its queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Items are tested on the non-failing items ahead; a failure resets those behind.
    pub speculative: bool,
    /// Items report from the head only.
    pub ordered: bool,
    /// The window grows and shrinks with results (else it stays as it started).
    pub adaptive_window: bool,
}

/// What the pipeline must do for an item.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Start (or restart) the item's buildset.
    Start {
        /// Item id.
        id: String,
        /// The new generation.
        generation: u32,
        /// The speculative state to make, when the item or one ahead is a change.
        merge: Option<MergeRequest>,
    },
    /// Cancel the item's builds; start nothing.
    Cancel {
        /// Item id.
        id: String,
        /// The new generation.
        generation: u32,
    },
    /// Deliver the item's reports.
    Report {
        /// Item id.
        id: String,
    },
}

/// One change queue of a pipeline.
#[derive(Debug, Clone)]
pub struct ChangeQueue {
    /// Queue name (the shared queue's, else the project's).
    pub name: String,
    /// The branch, for per-branch queues.
    pub branch: Option<String>,
    /// Items, head first.
    pub entries: Vec<QueueEntry>,
    /// Active window; 0: no limit.
    pub window: u32,
    /// How the window changes.
    pub settings: Window,
    /// True for a queue of one live item (independent pipelines, refusals): it
    /// goes once that item left.
    pub own: bool,
}

impl ChangeQueue {
    /// An empty queue starting at `settings.initial` (or a fixed `window`).
    pub fn new(name: String, branch: Option<String>, settings: Window) -> Self {
        ChangeQueue {
            name,
            branch,
            entries: Vec::new(),
            window: settings.initial,
            settings,
            own: false,
        }
    }

    /// Whether the entry holds the items behind it: a job of it holds
    /// following changes and has not yet succeeded in its current buildset.
    fn holds(entry: &QueueEntry) -> bool {
        entry.hold_following && entry.released != entry.generation
    }

    /// The entry with this id.
    pub fn entry_mut(&mut self, id: &str) -> Option<&mut QueueEntry> {
        self.entries.iter_mut().find(|e| e.id == id)
    }

    /// Grows the window after a merge (Zuul's increase rule).
    pub fn increase_window(&mut self) {
        if self.window == 0 {
            return;
        }
        let change = self.settings.increase;
        let grown = match change.kind {
            WindowChangeKind::Linear => self.window.saturating_add(change.factor),
            WindowChangeKind::Exponential => self.window.saturating_mul(change.factor),
        };
        self.window = self.settings.ceiling.map_or(grown, |c| grown.min(c));
    }

    /// Shrinks the window after a failure (Zuul's decrease rule), never under the floor.
    pub fn decrease_window(&mut self) {
        if self.window == 0 {
            return;
        }
        let change = self.settings.decrease;
        let shrunk = match change.kind {
            WindowChangeKind::Linear => self.window.saturating_sub(change.factor),
            WindowChangeKind::Exponential => self.window / change.factor.max(1),
        };
        self.window = shrunk.max(self.settings.floor);
    }

    /// Walks the queue from the head and says what to do: start items that
    /// entered the window, reset items whose items ahead changed, cancel items
    /// whose needed change failed, report items that may.
    pub fn process(&mut self, rules: Rules) -> Vec<Action> {
        let waiting_cycles = self.settle_cycles();
        let mut actions = Vec::new();
        // What an item is built on: the non-failing items ahead (speculative),
        // and the needed changes carried along (non-live) in any case.
        let mut ahead: Vec<usize> = Vec::new();
        let mut ahead_ids: Vec<String> = Vec::new();
        // Set once an item ahead holds the items behind it: they start nothing.
        let mut held = false;
        for index in 0..self.entries.len() {
            let active = !held && (self.window == 0 || index < self.window as usize);
            let entry = &self.entries[index];
            // A change never reports while a change it needs is still queued
            // (needs leave the list as the needed items merge or fail), nor
            // before every change of its cycle has a result.
            let in_waiting_cycle = entry
                .cycle
                .as_ref()
                .is_some_and(|c| waiting_cycles.contains(c));
            let waits = !entry.needs.is_empty() || in_waiting_cycle;
            let entry = &mut self.entries[index];
            if entry.live && !entry.reporting {
                let before = actions.len();
                step(entry, active, &ahead_ids, &mut actions);
                // Only a start needs its state described; most walks start nothing.
                if let Some(Action::Start { merge, .. }) = actions.get_mut(before) {
                    *merge = self.merge_request(&ahead, index);
                }
                let entry = &mut self.entries[index];
                let may_report = match (rules.speculative, rules.ordered) {
                    (true, _) => ahead.is_empty(),
                    (false, true) => index == 0,
                    (false, false) => true,
                };
                // A change that cannot merge leaves at once, wherever it stands.
                let leaves = entry.blocked.is_some() || (may_report && !waits);
                if leaves && entry.outcome.is_some() {
                    entry.reporting = true;
                    actions.push(Action::Report {
                        id: entry.id.clone(),
                    });
                }
            }
            let entry = &self.entries[index];
            if !entry.live || (rules.speculative && entry.failing.is_empty()) {
                held |= rules.speculative && Self::holds(entry);
                ahead.push(index);
                ahead_ids.push(entry.id.clone());
            }
        }
        actions
    }

    /// The cycles some of whose items have no result yet (they wait to report
    /// together); a cycle whose items all have one but one of which failed
    /// fails as a whole: its items are blocked with the reason.
    fn settle_cycles(&mut self) -> Vec<String> {
        let mut waiting = Vec::new();
        let mut failed = Vec::new();
        for entry in self.entries.iter().filter(|e| e.live) {
            let Some(cycle) = &entry.cycle else { continue };
            match &entry.outcome {
                None => waiting.push(cycle.clone()),
                Some((result, _)) if *result != BuildResult::Success => failed.push(cycle.clone()),
                Some(_) => {}
            }
        }
        let text = "This change is part of a dependency cycle, and a change of it failed.";
        for entry in &mut self.entries {
            let settled_failed = |c: &String| failed.contains(c) && !waiting.contains(c);
            if entry.cycle.as_ref().is_some_and(settled_failed) {
                if entry
                    .outcome
                    .as_ref()
                    .is_some_and(|(r, _)| *r == BuildResult::Success)
                {
                    entry.outcome = Some((BuildResult::Failure, text.into()));
                    entry.failing.push("a change of its cycle failed".into());
                }
                entry.blocked.get_or_insert_with(|| text.into());
            }
        }
        waiting
    }

    /// The merge request of the entry at `index` on the entries `ahead`, and
    /// the rest of its cycle; `None` when none of them is a change (a ref is
    /// tested at its own revision).
    fn merge_request(&self, ahead: &[usize], index: usize) -> Option<MergeRequest> {
        let cycle = self.entries[index].cycle.as_ref();
        let rest_of_cycle = (index + 1..self.entries.len())
            .filter(|i| cycle.is_some() && self.entries[*i].cycle.as_ref() == cycle);
        let chain: Vec<&QueueEntry> = ahead
            .iter()
            .copied()
            .chain([index])
            .chain(rest_of_cycle)
            .map(|i| &self.entries[i])
            .collect();
        chain
            .iter()
            .any(|e| e.item.change.is_some())
            .then(|| MergeRequest {
                item_uuid: self.entries[index].id.clone(),
                items: chain
                    .iter()
                    .map(|e| MergeItem {
                        item: e.item.clone(),
                        mode: e.mode,
                    })
                    .collect(),
                required: Vec::new(),
            })
    }
}

/// Decides for one entry that is not reporting.
/// A start's merge request is filled in by the caller.
fn step(entry: &mut QueueEntry, active: bool, expected: &[String], actions: &mut Vec<Action>) {
    let merge = None;
    let id = entry.id.clone();
    if let Some(reason) = &entry.blocked {
        if entry.outcome.is_none() {
            entry.generation += 1;
            entry.base = Some(expected.to_vec());
            entry.failing.push("a needed change is failing".into());
            entry.outcome = Some((BuildResult::Failure, reason.clone()));
            let generation = entry.generation;
            actions.push(Action::Cancel { id, generation });
        }
        return;
    }
    match &entry.base {
        Some(base) if base.as_slice() == expected => {}
        Some(_) => {
            // What it was built on changed (an item ahead failed, left, or moved).
            entry.generation += 1;
            entry.failing.clear();
            entry.outcome = None;
            let generation = entry.generation;
            if active {
                entry.base = Some(expected.to_vec());
                actions.push(Action::Start {
                    id,
                    generation,
                    merge,
                });
            } else {
                entry.base = None;
                actions.push(Action::Cancel { id, generation });
            }
        }
        None if active => {
            entry.generation += 1;
            entry.base = Some(expected.to_vec());
            let generation = entry.generation;
            actions.push(Action::Start {
                id,
                generation,
                merge,
            });
        }
        None => {}
    }
}

#[cfg(test)]
mod tests;
