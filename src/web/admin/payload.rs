//! The JSON bodies of the admin endpoints, read and checked as Zuul reads
//! them; every refusal says what is wrong. Unknown keys (Zuul's legacy
//! `trigger`, ...) are ignored, as Zuul ignores them.

use serde_json::{Map, Value};

/// What an enqueue or dequeue names: a change or a ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A change, `"N,P"`.
    Change(String),
    /// A ref, with revisions for an enqueue.
    Ref {
        /// The ref name.
        name: String,
        /// Old revision (enqueue only).
        oldrev: Option<String>,
        /// New revision (enqueue only).
        newrev: Option<String>,
    },
}

/// `{pipeline, change}` or `{pipeline, ref, oldrev?, newrev?}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queueing {
    /// The pipeline.
    pub pipeline: String,
    /// The change or ref.
    pub target: Target,
}

/// `{pipeline, changes: [...]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promote {
    /// The pipeline.
    pub pipeline: String,
    /// Changes in their new order.
    pub changes: Vec<String>,
}

/// `{job, count, reason, change?, ref?, node_hold_expiration?}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Autohold {
    /// Job name.
    pub job: String,
    /// How many failing builds to hold.
    pub count: u32,
    /// Why.
    pub reason: String,
    /// A change, or `None`.
    pub change: Option<String>,
    /// A ref regex, or `None`.
    pub r#ref: Option<String>,
    /// Seconds to keep nodes, or `None` for the default.
    pub node_hold_expiration: Option<u64>,
}

type Fields = Map<String, Value>;

/// The body as a JSON object.
fn object(body: &[u8]) -> Result<Fields, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err("the body must be a JSON object".into()),
        Err(e) => Err(format!("the body is not JSON: {e}")),
    }
}

/// An optional string field (JSON null counts as absent).
fn string(fields: &Fields, key: &str) -> Result<Option<String>, String> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Err(format!("{key} must not be empty")),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        // zuul-client may send a change number as a number.
        Some(Value::Number(n)) if key == "change" => Ok(Some(n.to_string())),
        Some(_) => Err(format!("{key} must be a string")),
    }
}

fn required(fields: &Fields, key: &str) -> Result<String, String> {
    string(fields, key)?.ok_or_else(|| format!("{key} is missing"))
}

/// The change or the ref, exactly one of them.
fn target(fields: &Fields, with_revs: bool) -> Result<Target, String> {
    match (string(fields, "change")?, string(fields, "ref")?) {
        (Some(_), Some(_)) => Err("change and ref are mutually exclusive".into()),
        (None, None) => Err("either change or ref is needed".into()),
        (Some(change), None) => Ok(Target::Change(change)),
        (None, Some(name)) => Ok(Target::Ref {
            name,
            oldrev: if with_revs {
                string(fields, "oldrev")?
            } else {
                None
            },
            newrev: if with_revs {
                string(fields, "newrev")?
            } else {
                None
            },
        }),
    }
}

/// An enqueue body.
pub fn enqueue(body: &[u8]) -> Result<Queueing, String> {
    let fields = object(body)?;
    let pipeline = required(&fields, "pipeline")?;
    Ok(Queueing {
        pipeline,
        target: target(&fields, true)?,
    })
}

/// A dequeue body.
pub fn dequeue(body: &[u8]) -> Result<Queueing, String> {
    let fields = object(body)?;
    let pipeline = required(&fields, "pipeline")?;
    Ok(Queueing {
        pipeline,
        target: target(&fields, false)?,
    })
}

/// A promote body.
pub fn promote(body: &[u8]) -> Result<Promote, String> {
    let fields = object(body)?;
    let pipeline = required(&fields, "pipeline")?;
    let Some(Value::Array(list)) = fields.get("changes") else {
        return Err("changes must be a list of changes".into());
    };
    let changes = list
        .iter()
        .map(|c| {
            c.as_str()
                .map(str::to_string)
                .ok_or("changes must be strings like \"1234,1\"")
        })
        .collect::<Result<Vec<_>, _>>()?;
    if changes.is_empty() {
        return Err("changes must name at least one change".into());
    }
    Ok(Promote { pipeline, changes })
}

/// An autohold body.
pub fn autohold(body: &[u8]) -> Result<Autohold, String> {
    let fields = object(body)?;
    let change = string(&fields, "change")?;
    let r#ref = string(&fields, "ref")?;
    if change.is_some() && r#ref.is_some() {
        return Err("change and ref are mutually exclusive".into());
    }
    if let Some(pattern) = &r#ref {
        regex::Regex::new(pattern)
            .map_err(|e| format!("ref is not a valid regular expression: {e}"))?;
    }
    let count = match fields.get("count") {
        None | Some(Value::Null) => return Err("count is missing".into()),
        Some(v) => v.as_i64().ok_or("count must be a whole number")?,
    };
    let count = u32::try_from(count).map_err(|_| "count must be 0 or more".to_string())?;
    let node_hold_expiration = match fields.get("node_hold_expiration") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or("node_hold_expiration must be a number of seconds")?,
        ),
    };
    Ok(Autohold {
        job: required(&fields, "job")?,
        count,
        reason: required(&fields, "reason")?,
        change,
        r#ref,
        node_hold_expiration,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_enqueue_names_a_change_or_a_ref_with_its_revisions() {
        let change =
            enqueue(br#"{"trigger": "gerrit", "pipeline": "gate", "change": "3,1"}"#).unwrap();
        assert_eq!(change.target, Target::Change("3,1".into()));
        let r = enqueue(
            br#"{"pipeline": "post", "ref": "refs/heads/main", "oldrev": "a", "newrev": "b"}"#,
        )
        .unwrap();
        let expected = Target::Ref {
            name: "refs/heads/main".into(),
            oldrev: Some("a".into()),
            newrev: Some("b".into()),
        };
        assert_eq!((r.pipeline.as_str(), r.target), ("post", expected));
    }

    #[test]
    fn each_bad_body_says_what_is_wrong() {
        let cases: [(&[u8], &str); 6] = [
            (b"not json", "the body is not JSON"),
            (b"[1]", "must be a JSON object"),
            (br#"{"change": "1,1"}"#, "pipeline is missing"),
            (
                br#"{"pipeline": "gate", "change": "1,1", "ref": "refs/heads/main"}"#,
                "mutually exclusive",
            ),
            (br#"{"pipeline": "gate"}"#, "either change or ref"),
            (
                br#"{"pipeline": 3, "change": "1,1"}"#,
                "pipeline must be a string",
            ),
        ];
        for (body, why) in cases {
            let err = enqueue(body).unwrap_err();
            assert!(
                err.contains(why),
                "{} -> {err}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn a_dequeue_ignores_revisions() {
        let d = dequeue(br#"{"pipeline": "post", "ref": "refs/tags/v1", "newrev": "b"}"#).unwrap();
        assert_eq!(
            d.target,
            Target::Ref {
                name: "refs/tags/v1".into(),
                oldrev: None,
                newrev: None
            }
        );
    }

    #[test]
    fn a_promote_needs_a_list_of_change_strings() {
        let p = promote(br#"{"pipeline": "gate", "changes": ["2,1", "1,1"]}"#).unwrap();
        assert_eq!(p.changes, ["2,1", "1,1"]);
        assert!(promote(br#"{"pipeline": "gate", "changes": "2,1"}"#)
            .unwrap_err()
            .contains("list"));
        assert!(promote(br#"{"pipeline": "gate", "changes": [2]}"#)
            .unwrap_err()
            .contains("strings"));
        assert!(promote(br#"{"changes": ["2,1"]}"#)
            .unwrap_err()
            .contains("pipeline is missing"));
    }

    #[test]
    fn an_autohold_checks_count_ref_regex_and_exclusivity() {
        let ok = autohold(br#"{"job": "unit", "count": 1, "reason": "debug", "change": null, "ref": null, "node_hold_expiration": 3600}"#).unwrap();
        assert_eq!(
            (ok.count, ok.node_hold_expiration, ok.change),
            (1, Some(3600), None)
        );
        let bad: [(&[u8], &str); 5] = [
            (br#"{"job": "u", "count": -1, "reason": "r"}"#, "0 or more"),
            (
                br#"{"job": "u", "count": 1, "reason": "r", "ref": "refs/(("}"#,
                "not a valid regular expression",
            ),
            (
                br#"{"job": "u", "count": 1, "reason": "r", "ref": "x", "change": "1,1"}"#,
                "mutually exclusive",
            ),
            (br#"{"count": 1, "reason": "r"}"#, "job is missing"),
            (br#"{"job": "u", "reason": "r"}"#, "count is missing"),
        ];
        for (body, why) in bad {
            let err = autohold(body).unwrap_err();
            assert!(
                err.contains(why),
                "{} -> {err}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
