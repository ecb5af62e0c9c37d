//! The queue walk and the window rules, without actors.

use portcullis_config::pipeline::{Window, WindowChange, WindowChangeKind};

use super::*;
use crate::event::TriggerEvent;

const GATE: Rules = Rules {
    speculative: true,
    ordered: true,
    adaptive_window: true,
};

fn queue(n: usize, settings: Window) -> ChangeQueue {
    let mut queue = ChangeQueue::new("q".into(), None, settings);
    for i in 0..n {
        let event = TriggerEvent::ref_updated("c", "p", "refs/heads/main", "a", "b");
        queue.entries.push(QueueEntry::new(
            format!("i{i}"),
            ItemRef::from_event(&event),
            MergeMode::Merge,
        ));
    }
    queue
}

fn started(actions: &[Action]) -> Vec<String> {
    let ids = actions.iter().filter_map(|a| match a {
        Action::Start { id, .. } => Some(id.clone()),
        _ => None,
    });
    ids.collect()
}

#[test]
fn only_items_inside_the_window_start() {
    let mut q = queue(
        5,
        Window {
            initial: 2,
            ..Window::default()
        },
    );
    assert_eq!(started(&q.process(GATE)), vec!["i0", "i1"]);
    assert_eq!(q.entries[1].base, Some(vec!["i0".to_string()]));
}

#[test]
fn a_failing_item_resets_the_items_behind_it_onto_the_items_ahead_of_it() {
    let mut q = queue(3, Window::default());
    q.process(GATE);
    q.entries[1].failing.push("at least one job failed".into());
    let actions = q.process(GATE);
    assert_eq!(started(&actions), vec!["i2"]);
    assert_eq!(q.entries[2].base, Some(vec!["i0".to_string()]));
    assert_eq!(q.entries[2].generation, 2);
}

#[test]
fn the_window_grows_linearly_and_shrinks_by_half_down_to_the_floor() {
    let mut q = queue(0, Window::default());
    assert_eq!(q.window, 20);
    q.increase_window();
    assert_eq!(q.window, 21);
    for expected in [10, 5, 3, 3] {
        q.decrease_window();
        assert_eq!(q.window, expected);
    }
}

#[test]
fn exponential_growth_stops_at_the_ceiling_and_linear_shrink_at_the_floor() {
    let mut q = queue(
        0,
        Window {
            initial: 4,
            floor: 2,
            ceiling: Some(10),
            increase: WindowChange {
                kind: WindowChangeKind::Exponential,
                factor: 2,
            },
            decrease: WindowChange {
                kind: WindowChangeKind::Linear,
                factor: 3,
            },
        },
    );
    q.increase_window();
    q.increase_window();
    assert_eq!(q.window, 10);
    q.decrease_window();
    assert_eq!(q.window, 7);
    q.decrease_window();
    q.decrease_window();
    assert_eq!(q.window, 2);
}

#[test]
fn an_unlimited_window_never_changes() {
    let mut q = queue(
        30,
        Window {
            initial: 0,
            ..Window::default()
        },
    );
    q.decrease_window();
    assert_eq!(q.window, 0);
    assert_eq!(started(&q.process(GATE)).len(), 30);
}
