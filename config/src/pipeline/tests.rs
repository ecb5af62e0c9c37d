//! Pipeline scenarios: checking a stanza, and which events its triggers take.

use super::*;
use crate::testing::{drivers, file, layout, CONFIG};
use crate::ConfigError;
use crate::Layout;

fn pipeline(text: &str) -> Result<Pipeline, ConfigError> {
    let layout = Layout::build(
        &crate::testing::tenant(),
        &drivers(),
        &[file("config", "zuul.yaml", text)],
    );
    match layout.errors.first() {
        Some(err) => Err(err.clone()),
        None => Ok(layout.pipelines[0].clone()),
    }
}

fn push<'a>(ref_name: &'a str, deleted: bool) -> EventFacts<'a> {
    EventFacts {
        connection: "local",
        event_type: "ref-updated",
        ref_name,
        deleted,
    }
}

#[test]
fn ref_regexes_match_from_the_start_of_the_ref() {
    let layout = layout(&[]);
    let post = layout.pipeline("post").unwrap();
    assert!(post.is_triggered_by(&push("refs/heads/main", false)));
    assert!(!post.is_triggered_by(&push("refs/tags/v1", false)));
    assert!(!post.is_triggered_by(&push("x/refs/heads/main", false)));
}

#[test]
fn deletions_are_ignored_unless_told_otherwise() {
    let post = pipeline(CONFIG).unwrap();
    assert!(!post.is_triggered_by(&push("refs/heads/gone", true)));
    let keep = pipeline(&CONFIG.replace(
        "ref: refs/heads/.*",
        "ref: refs/heads/.*\n          ignore-deletes: false",
    ))
    .unwrap();
    assert!(keep.is_triggered_by(&push("refs/heads/gone", true)));
}

#[test]
fn events_of_another_connection_or_type_do_not_trigger() {
    let post = pipeline(CONFIG).unwrap();
    let other = EventFacts {
        connection: "elsewhere",
        ..push("refs/heads/main", false)
    };
    assert!(!post.is_triggered_by(&other));
    let comment = EventFacts {
        event_type: "comment-added",
        ..push("refs/heads/main", false)
    };
    assert!(!post.is_triggered_by(&comment));
}

#[test]
fn several_refs_and_events_may_be_listed() {
    let text = CONFIG.replace("ref: refs/heads/.*", "ref: [refs/heads/main$, ^refs/tags/]");
    let post = pipeline(&text.replace("event: ref-updated", "event: [ref-updated]")).unwrap();
    assert!(post.is_triggered_by(&push("refs/tags/v1", false)));
    assert!(!post.is_triggered_by(&push("refs/heads/maint", false)));
}

fn change_event<'a>(event_type: &'a str, ref_name: &'a str) -> EventFacts<'a> {
    EventFacts {
        event_type,
        ..push(ref_name, false)
    }
}

#[test]
fn a_git_trigger_takes_the_change_events_of_review_branches() {
    let text = CONFIG.replace(
        "event: ref-updated",
        "event: [patchset-created, change-abandoned, change-merged]",
    );

    let check = pipeline(&text).unwrap();

    for event in ["patchset-created", "change-abandoned", "change-merged"] {
        assert!(
            check.is_triggered_by(&change_event(event, "refs/heads/main")),
            "{event}"
        );
    }
    assert!(
        !check.is_triggered_by(&push("refs/heads/main", false)),
        "not pushes"
    );
}

#[test]
fn reporters_keep_their_settings_in_order() {
    let text = "\
- pipeline:
    name: post
    manager: independent
    precedence: high
    success:
      mail: {to: dev@example.org}
      local:
    failure:
      mail: {to: [a, b]}
";
    let post = pipeline(text).unwrap();
    let connections: Vec<_> = post.success.iter().map(|r| r.connection.as_str()).collect();
    assert_eq!(connections, ["mail", "local"]);
    assert_eq!(
        post.success[0].settings,
        serde_json::json!({"to": "dev@example.org"})
    );
    assert_eq!(
        post.failure[0].settings,
        serde_json::json!({"to": ["a", "b"]})
    );
    assert!(post.triggers.is_empty() && post.start.is_empty());
}

#[test]
fn a_reporter_on_an_unknown_connection_is_an_error() {
    let err =
        pipeline("- pipeline:\n    name: p\n    manager: independent\n    start: {nowhere: {}}\n")
            .unwrap_err();
    assert!(
        err.message.contains("unknown connection `nowhere`"),
        "{err}"
    );
}

#[test]
fn a_bad_trigger_is_a_located_error() {
    let cases = [
        ("ref: refs/heads/.*", "ref: '['", "not a regex"),
        (
            "local:\n        - event",
            "nowhere:\n        - event",
            "unknown connection `nowhere`",
        ),
        (
            "local:\n        - event",
            "mail:\n        - event",
            "only git triggers",
        ),
        (
            "event: ref-updated",
            "event: [patchset-created, comment-added]",
            "event `comment-added` is not a git event",
        ),
        ("manager: independent", "manager: bogus", "unknown manager"),
    ];
    for (from, to, expected) in cases {
        let err = pipeline(&CONFIG.replace(from, to)).unwrap_err();
        assert!(err.message.contains(expected), "{to}: {err}");
        assert_eq!((err.file.as_str(), err.line), ("zuul.yaml", 1), "{err}");
    }
}

#[test]
fn a_pipeline_defined_twice_is_an_error() {
    let text = format!("{CONFIG}{}", &CONFIG[..CONFIG.find("- job:").unwrap()]);
    let err = pipeline(&text).unwrap_err();
    assert!(err.message.contains("already defined"), "{err}");
    assert_eq!(err.line, 15);
}

const GATE: &str = "\
- pipeline:
    name: gate
    manager: dependent
    precedence: high
    supercedes: check
    post-review: true
    dequeue-on-new-patchset: false
    disable-after-consecutive-failures: 3
    window: 10
    window-floor: 2
    window-ceiling: 40
    window-increase-type: exponential
    window-increase-factor: 2
    window-decrease-type: linear
    window-decrease-factor: 3
    success-message: Gated.
    trigger:
      local:
        - event: ref-updated
    enqueue:
      mail: {to: a@example.org}
    merge-conflict:
      mail: {to: b@example.org}
    disabled:
      mail: {to: ops@example.org}
";

#[test]
fn every_manager_is_accepted() {
    for (name, manager) in [
        ("independent", Manager::Independent),
        ("dependent", Manager::Dependent),
        ("serial", Manager::Serial),
        ("supercedent", Manager::Supercedent),
    ] {
        let text = CONFIG.replace("manager: independent", &format!("manager: {name}"));
        let pipeline = pipeline(&text).unwrap();
        assert_eq!((pipeline.manager, pipeline.manager.name()), (manager, name));
    }
}

#[test]
fn a_dependent_pipeline_keeps_every_attribute_written() {
    let gate = pipeline(GATE).unwrap();
    assert_eq!(gate.precedence, Precedence::High);
    assert_eq!(gate.supercedes, ["check"]);
    assert!(gate.post_review && !gate.dequeue_on_new_patchset);
    assert_eq!(gate.disable_after_consecutive_failures, Some(3));
    let up = WindowChange {
        kind: WindowChangeKind::Exponential,
        factor: 2,
    };
    let down = WindowChange {
        kind: WindowChangeKind::Linear,
        factor: 3,
    };
    let window = Window {
        initial: 10,
        floor: 2,
        ceiling: Some(40),
        increase: up,
        decrease: down,
    };
    assert_eq!(gate.window, window);
    assert_eq!(gate.messages.success, "Gated.");
    assert_eq!(gate.reporters.enqueue[0].settings["to"], "a@example.org");
    assert_eq!(gate.reporters.disabled[0].connection, "mail");
}

#[test]
fn unset_attributes_take_zuuls_defaults() {
    let post = pipeline(CONFIG).unwrap();
    assert_eq!(post.precedence, Precedence::Normal);
    assert_eq!(post.window, Window::default());
    assert_eq!((post.window.initial, post.window.floor), (20, 3));
    assert!(post.dequeue_on_new_patchset && post.allow_other_connections);
    assert!(!post.post_review && !post.ignore_dependencies);
    assert_eq!(post.messages.failure, "Build failed.");
    assert_eq!(post.messages.start, "Starting {pipeline.name} jobs.");
}

#[test]
fn merge_conflicts_and_config_errors_fall_back_to_failure_reporters() {
    let text = GATE.replace(
        "    disabled:",
        "    failure:\n      mail: {to: f@example.org}\n    disabled:",
    );
    let gate = pipeline(&text).unwrap();
    assert_eq!(
        gate.merge_conflict_reporters()[0].settings["to"],
        "b@example.org"
    );
    assert_eq!(
        gate.config_error_reporters()[0].settings["to"],
        "f@example.org"
    );
}

#[test]
fn window_rules_are_checked() {
    let cases = [
        (
            "window-ceiling: 40",
            "window-ceiling: 1",
            "less than window-floor",
        ),
        (
            "window-floor: 2",
            "window-floor: 0",
            "window-floor must be at least 1",
        ),
        (
            "window-increase-type: exponential",
            "window-increase-type: fast",
            "not linear",
        ),
        ("window: 10", "window: -1", "window"),
        (
            "disable-after-consecutive-failures: 3",
            "disable-after-consecutive-failures: 0",
            "at least 1",
        ),
        ("precedence: high", "precedence: urgent", "not one of low"),
        (
            "supercedes: check",
            "supercedes: check\n    bogus-key: 1",
            "bogus-key",
        ),
    ];
    for (from, to, expected) in cases {
        let err = pipeline(&GATE.replace(from, to)).unwrap_err();
        assert!(err.message.contains(expected), "{to}: {err}");
    }
}

#[test]
fn git_connections_take_no_requirements_but_other_drivers_keep_theirs() {
    let on_git = CONFIG.replace(
        "    trigger:",
        "    require:\n      local: {approval: []}\n    trigger:",
    );
    let err = pipeline(&on_git).unwrap_err();
    assert!(err.message.contains("no pipeline requirements"), "{err}");
    let on_mail = CONFIG.replace(
        "    trigger:",
        "    reject:\n      mail: {open: false}\n    trigger:",
    );
    let post = pipeline(&on_mail).unwrap();
    assert_eq!(post.reject[0].settings["open"], false);
}
