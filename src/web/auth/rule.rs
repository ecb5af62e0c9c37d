//! Zuul's `admin-rule` / `authorization-rule` conditions, matched against a
//! token's claims.
//!
//! `conditions` is a list of alternatives (any may match); each alternative
//! is a map of claim to expected value (all must match). `zuul_uid` stands
//! for the authenticator's uid claim, a dotted claim name walks nested
//! claims, and `{tenant.name}` in a value is the tenant asked about. A list
//! claim matches when it holds the value; a map value matches a map claim
//! key by key.

use serde_json::{Map, Value};

use super::token::Claims;

/// Whether `claims` meet a rule's `conditions` for `tenant` (`None`: the API root).
pub fn matches(conditions: &Value, claims: &Claims, tenant: Option<&str>) -> bool {
    match conditions {
        Value::Array(alternatives) => alternatives.iter().any(|c| matches(c, claims, tenant)),
        Value::Object(all) => all
            .iter()
            .all(|(claim, value)| claim_matches(claim, value, claims, tenant)),
        _ => false,
    }
}

/// One `claim: value` condition.
fn claim_matches(claim: &str, value: &Value, claims: &Claims, tenant: Option<&str>) -> bool {
    let uid = Value::String(claims.uid.clone());
    let found = if claim == "zuul_uid" {
        Some(&uid)
    } else {
        lookup(&claims.all, claim)
    };
    let Some(found) = found else {
        return false;
    };
    if let Value::Object(_) = value {
        return compare(value, found, tenant);
    }
    let value = templated(value, tenant);
    match found {
        Value::Array(items) => items.contains(&value),
        Value::String(_) | Value::Bool(_) => *found == value,
        // Zuul compares only strings, booleans and lists; numbers never match.
        _ => false,
    }
}

/// Zuul's nested comparison of a map (or list, or scalar) value with a claim.
fn compare(value: &Value, claim: &Value, tenant: Option<&str>) -> bool {
    match (value, claim) {
        (Value::Array(wanted), Value::Array(held)) => {
            let wanted: Vec<Value> = wanted.iter().map(|v| templated(v, tenant)).collect();
            !held.is_empty() && held.iter().all(|h| wanted.contains(h))
        }
        (Value::Array(wanted), held) => wanted.iter().any(|v| templated(v, tenant) == *held),
        (Value::Object(wanted), Value::Object(held)) if wanted.is_empty() => held.is_empty(),
        (Value::Object(wanted), Value::Object(held)) => wanted.iter().all(|(k, v)| {
            let empty = Value::Object(Map::new());
            compare(v, held.get(k).unwrap_or(&empty), tenant)
        }),
        (Value::Object(_), _) => false,
        (scalar, held) => templated(scalar, tenant) == *held,
    }
}

/// A claim by name: the top-level claim of that exact name, else a dotted path.
fn lookup<'a>(all: &'a Map<String, Value>, claim: &str) -> Option<&'a Value> {
    if let Some(found) = all.get(claim) {
        return Some(found);
    }
    let mut parts = claim.split('.');
    let first = all.get(parts.next()?)?;
    parts.try_fold(first, |v, part| v.get(part))
}

/// `value` with `{tenant.name}` filled in when it is a string.
fn templated(value: &Value, tenant: Option<&str>) -> Value {
    match (value, tenant) {
        (Value::String(s), Some(tenant)) => Value::String(s.replace("{tenant.name}", tenant)),
        _ => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(all: Value) -> Claims {
        Claims {
            uid: "alice".into(),
            realm: "r".into(),
            all: all.as_object().cloned().expect("an object"),
        }
    }

    #[test]
    fn any_alternative_may_match_and_every_claim_of_one_must() {
        let c = claims(json!({"sub": "alice", "iss": "corp", "email_verified": true}));
        let rule = json!([{"sub": "bob"}, {"sub": "alice", "iss": "corp"}]);
        assert!(matches(&rule, &c, None));
        let stricter = json!([{"sub": "alice", "iss": "other"}]);
        assert!(!matches(&stricter, &c, None));
        assert!(matches(&json!({"email_verified": true}), &c, None));
    }

    #[test]
    fn zuul_uid_is_the_authenticators_uid_claim() {
        let c = claims(json!({"sub": "x"}));
        assert!(matches(&json!([{"zuul_uid": "alice"}]), &c, None));
    }

    #[test]
    fn a_list_claim_matches_when_it_holds_the_templated_value() {
        let c = claims(json!({"groups": ["example-admins", "dev"]}));
        let rule = json!([{"groups": "{tenant.name}-admins"}]);
        assert!(matches(&rule, &c, Some("example")));
        assert!(!matches(&rule, &c, Some("other")));
    }

    #[test]
    fn a_dotted_claim_walks_nested_claims() {
        let c = claims(json!({"resource_access": {"zuul": {"roles": ["admin"]}}}));
        assert!(matches(
            &json!({"resource_access.zuul.roles": "admin"}),
            &c,
            None
        ));
        assert!(!matches(
            &json!({"resource_access.other.roles": "admin"}),
            &c,
            None
        ));
    }

    #[test]
    fn a_map_value_matches_a_map_claim_key_by_key() {
        let c = claims(json!({"zuul": {"roles": ["a", "b"], "team": "infra"}}));
        assert!(matches(&json!({"zuul": {"team": "infra"}}), &c, None));
        assert!(matches(
            &json!({"zuul": {"roles": ["a", "b", "c"]}}),
            &c,
            None
        ));
        assert!(!matches(&json!({"zuul": {"roles": ["a"]}}), &c, None));
        assert!(!matches(&json!({"zuul": {"team": "web"}}), &c, None));
    }

    #[test]
    fn a_missing_claim_or_a_number_never_matches() {
        let c = claims(json!({"level": 3}));
        assert!(!matches(&json!({"groups": "x"}), &c, None));
        assert!(!matches(&json!({"level": 3}), &c, None));
    }
}
