//! Builds and buildsets in the JSON Zuul's REST API prints
//! (`buildToDict`, `buildsetToDict`): the same field names, times as
//! `YYYY-MM-DDTHH:MM:SS` in UTC, durations in seconds.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::store::{BuildRow, BuildsetRow};

/// A time the way Zuul prints it: no zone, no fraction, UTC.
pub fn zuul_time(t: Option<&DateTime<Utc>>) -> Value {
    match t {
        Some(t) => Value::String(t.format("%Y-%m-%dT%H:%M:%S").to_string()),
        None => Value::Null,
    }
}

/// Seconds between start and end (with microseconds), once both are known.
pub fn duration(start: Option<&DateTime<Utc>>, end: Option<&DateTime<Utc>>) -> Value {
    match (start, end) {
        (Some(s), Some(e)) => {
            let micros = (*e - *s).num_microseconds().unwrap_or(i64::MAX);
            json!(micros as f64 / 1_000_000.0)
        }
        _ => Value::Null,
    }
}

/// The `ref` object: what a buildset tested.
pub fn ref_json(buildset: &BuildsetRow) -> Value {
    json!({
        "project": buildset.project,
        "branch": buildset.branch,
        "change": buildset.change,
        "patchset": buildset.patchset,
        "ref": buildset.r#ref,
        "oldrev": buildset.oldrev,
        "newrev": buildset.newrev,
        "ref_url": buildset.ref_url,
    })
}

/// How much of the buildset a build's JSON carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildsetPart {
    /// Nothing: the build is listed inside its buildset.
    None,
    /// Pipeline, event and the buildset's uuid (the `builds` list).
    Summary,
    /// As `Summary`, plus the buildset's refs (a single `build`).
    WithRefs,
}

/// A build as Zuul's `buildToDict` prints it.
pub fn build_json(build: &BuildRow, part: BuildsetPart) -> Value {
    let buildset = &build.buildset;
    let mut out = json!({
        "_id": build.id,
        "uuid": build.uuid,
        "job_name": build.job_name,
        "result": build.result,
        "held": build.held,
        // Portcullis has no separate executor queue: a build executes when it starts.
        "execute_time": zuul_time(build.start_time.as_ref()),
        "start_time": zuul_time(build.start_time.as_ref()),
        "end_time": zuul_time(build.end_time.as_ref()),
        "duration": duration(build.start_time.as_ref(), build.end_time.as_ref()),
        "voting": build.voting,
        "log_url": build.log_url,
        "nodeset": build.nodeset,
        "error_detail": build.error_detail,
        "final": build.r#final,
        "artifacts": [],
        "provides": [],
        "ref": ref_json(buildset),
    });
    if part != BuildsetPart::None {
        let mut summary = json!({ "uuid": buildset.uuid });
        if part == BuildsetPart::WithRefs {
            summary["refs"] = json!([ref_json(buildset)]);
        }
        out["pipeline"] = json!(buildset.pipeline);
        out["event_id"] = json!(buildset.event_id);
        out["event_timestamp"] = zuul_time(buildset.event_timestamp.as_ref());
        out["queue_item_uuid"] = Value::Null;
        out["buildset"] = summary;
    }
    out
}

/// A buildset as Zuul's `buildsetToDict` prints it; with `builds` when given.
pub fn buildset_json(buildset: &BuildsetRow, builds: Option<&[BuildRow]>) -> Value {
    let mut out = json!({
        "_id": buildset.id,
        "uuid": buildset.uuid,
        "result": buildset.result,
        "message": buildset.message,
        "pipeline": buildset.pipeline,
        "event_id": buildset.event_id,
        "event_timestamp": zuul_time(buildset.event_timestamp.as_ref()),
        "queue_item_uuid": Value::Null,
        "first_build_start_time": zuul_time(buildset.first_build_start_time.as_ref()),
        "last_build_end_time": zuul_time(buildset.last_build_end_time.as_ref()),
        "user_id": Value::Null,
        "parameters": Value::Null,
        "refs": [ref_json(buildset)],
    });
    if let Some(builds) = builds {
        let list: Vec<Value> = builds
            .iter()
            .map(|b| build_json(b, BuildsetPart::None))
            .collect();
        out["builds"] = Value::Array(list);
        out["events"] = json!([]);
    }
    out
}
