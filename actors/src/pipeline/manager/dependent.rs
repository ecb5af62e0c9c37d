//! Dependent (gating): projects that share a queue are tested together, each
//! item on top of the non-failing items ahead of it, inside a window that
//! grows with merges and shrinks with failures; items report from the head.

use portcullis_config::Layout;

use super::{shared_queue, QueuePlace};
use crate::event::ItemRef;
use crate::pipeline::change_queue::Rules;

/// Speculative, ordered, adaptive window.
pub const RULES: Rules = Rules {
    speculative: true,
    ordered: true,
    adaptive_window: true,
};

/// The project's shared queue, else a queue of the project's own.
pub fn place(layout: &Layout, pipeline: &str, item: &ItemRef) -> QueuePlace {
    shared_queue(layout, pipeline, item).unwrap_or_else(|| QueuePlace {
        name: item.project.clone(),
        branch: None,
        own: false,
    })
}
