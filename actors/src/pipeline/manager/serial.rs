//! Serial: queues shared like a dependent pipeline's, but one item of each
//! queue runs at a time, on its own revision, and nothing resets.

use portcullis_config::pipeline::Window;
use portcullis_config::Layout;

use super::QueuePlace;
use crate::event::ItemRef;
use crate::pipeline::change_queue::Rules;

/// One at a time, in order, no speculation.
pub const RULES: Rules = Rules {
    speculative: false,
    ordered: true,
    adaptive_window: false,
};

/// The same queues as a dependent pipeline.
pub fn place(layout: &Layout, pipeline: &str, item: &ItemRef) -> QueuePlace {
    super::dependent::place(layout, pipeline, item)
}

/// A window of one.
pub fn window() -> Window {
    super::one_at_a_time()
}
