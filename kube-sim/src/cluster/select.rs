//! Label and field selectors, the subset clients such as kube-runtime send:
//! `k=v`, `k==v`, `k!=v`, `k` and `!k`, joined by commas.

use serde_json::Value;

/// Whether `obj` matches both selectors (absent selectors match everything).
pub fn matches(obj: &Value, labels: Option<&str>, fields: Option<&str>) -> bool {
    let label = |k: &str| obj["metadata"]["labels"][k].as_str().map(str::to_string);
    let field = |k: &str| field_value(obj, k);
    all_terms(labels, label) && all_terms(fields, field)
}

fn field_value(obj: &Value, path: &str) -> Option<String> {
    let mut v = obj;
    for part in path.split('.') {
        v = &v[part];
    }
    v.as_str().map(str::to_string)
}

fn all_terms(selector: Option<&str>, lookup: impl Fn(&str) -> Option<String>) -> bool {
    let Some(selector) = selector else {
        return true;
    };
    selector
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .all(|term| {
            if let Some((k, v)) = term.split_once("!=") {
                lookup(k.trim()).as_deref() != Some(v.trim())
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                lookup(k.trim()).as_deref() == Some(v.trim())
            } else if let Some(k) = term.strip_prefix('!') {
                lookup(k.trim()).is_none()
            } else {
                lookup(term).is_some()
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({"metadata": {"name": "p1", "labels": {"app": "web", "tier": "a"}},
               "status": {"phase": "Running"}})
    }

    #[test]
    fn equality_inequality_and_existence_label_terms_all_apply() {
        // given a pod labelled app=web,tier=a
        let p = pod();
        // then each kind of term is honoured
        assert!(matches(&p, Some("app=web,tier==a"), None));
        assert!(matches(&p, Some("app!=db,tier"), None));
        assert!(!matches(&p, Some("app=db"), None));
        assert!(!matches(&p, Some("!tier"), None));
    }

    #[test]
    fn field_selectors_follow_dotted_paths() {
        // given a running pod named p1
        let p = pod();
        // then name and phase fields select it, other names do not
        assert!(matches(
            &p,
            None,
            Some("metadata.name=p1,status.phase=Running")
        ));
        assert!(!matches(&p, None, Some("metadata.name=p2")));
    }
}
