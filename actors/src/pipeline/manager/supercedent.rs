//! Supercedent: per project and ref, one item runs and at most one waits; a
//! newer item replaces the waiting one (only the latest state matters).

use portcullis_config::pipeline::Window;

use super::QueuePlace;
use crate::event::ItemRef;
use crate::pipeline::change_queue::{ChangeQueue, Rules};

/// One at a time, in order, no speculation.
pub const RULES: Rules = Rules {
    speculative: false,
    ordered: true,
    adaptive_window: false,
};

/// A queue per project and ref.
pub fn place(item: &ItemRef) -> QueuePlace {
    QueuePlace {
        name: item.project.clone(),
        branch: Some(item.ref_name.clone()),
        own: false,
    }
}

/// A window of one.
pub fn window() -> Window {
    super::one_at_a_time()
}

/// Every item that has not started: a newcomer replaces them.
pub fn superseded(queue: &ChangeQueue) -> Vec<String> {
    let waiting = queue.entries.iter().filter(|e| e.base.is_none());
    waiting.map(|e| e.id.clone()).collect()
}
