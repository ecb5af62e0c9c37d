//! Pipeline scenarios: checking a stanza, and which events its triggers take.

use super::*;
use crate::testing::{drivers, file, layout, CONFIG};
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
            "event: patchset-created",
            "not a git event",
        ),
        (
            "manager: independent",
            "manager: dependent",
            "not supported yet",
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
