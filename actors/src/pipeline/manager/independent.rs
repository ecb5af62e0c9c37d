//! Independent: every item on its own, tested on its own revision, reported
//! as soon as its jobs are done.

use portcullis_config::pipeline::Window;

use super::QueuePlace;
use crate::event::ItemRef;
use crate::pipeline::change_queue::Rules;

/// No order between items.
pub const RULES: Rules = Rules {
    speculative: false,
    ordered: false,
    adaptive_window: false,
};

/// A queue of its own, named after the project.
pub fn place(item: &ItemRef) -> QueuePlace {
    QueuePlace {
        name: item.project.clone(),
        branch: None,
        own: true,
    }
}

/// No window.
pub fn window() -> Window {
    Window {
        initial: 0,
        ..Window::default()
    }
}
