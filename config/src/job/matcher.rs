//! Change matchers: the branch and file regexes of jobs and project entries.
//!
//! Zuul matches them with Python's `re.match`, from the start of the string
//! but not to its end, so we anchor at the start only. A regex may be written
//! as a string or as `{regex: ..., negate: true}`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, LazyLock, Mutex};

use regex::Regex;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Serialize;

/// One regex of a matcher, as written and compiled.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// The regex as written.
    pub pattern: String,
    /// True when a match means "no".
    pub negate: bool,
    regex: Arc<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern && self.negate == other.negate
    }
}

impl Eq for Matcher {}

impl Serialize for Matcher {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.pattern)
    }
}

impl Matcher {
    /// Compiles `pattern`, anchored at the start as Zuul's `re.match` is.
    pub fn new(pattern: &str, negate: bool) -> Result<Matcher, String> {
        let regex = compiled(format!("^(?:{pattern})"))
            .map_err(|e| format!("`{pattern}` is not a regex: {e}"))?;
        Ok(Matcher {
            pattern: pattern.to_string(),
            negate,
            regex,
        })
    }

    /// True when `text` matches (or, negated, does not).
    pub fn matches(&self, text: &str) -> bool {
        self.regex.is_match(text) != self.negate
    }
}

/// Compiled regexes by anchored pattern, shared by every matcher written the
/// same way: a tenant repeats a few file matchers in thousands of jobs, and each
/// compiled regex costs tens of microseconds and kilobytes.
static COMPILED: LazyLock<Mutex<RegexCache>> = LazyLock::new(Mutex::default);

#[derive(Default)]
struct RegexCache {
    by_pattern: HashMap<String, Arc<Regex>>,
    /// Size at which regexes no matcher holds any more are dropped.
    prune_at: usize,
}

/// The compiled `anchored`, from the cache or compiled now.
fn compiled(anchored: String) -> Result<Arc<Regex>, regex::Error> {
    // A poisoned cache is still a valid map of compiled regexes.
    let mut cache = COMPILED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(regex) = cache.by_pattern.get(&anchored) {
        return Ok(regex.clone());
    }
    let regex = Arc::new(Regex::new(&anchored)?);
    if cache.by_pattern.len() >= cache.prune_at {
        // Old layouts are gone by now: keep what live matchers hold, so the
        // cache stays within twice the patterns in use.
        cache.by_pattern.retain(|_, r| Arc::strong_count(r) > 1);
        cache.prune_at = (cache.by_pattern.len() * 2).max(1024);
    }
    cache.by_pattern.insert(anchored, regex.clone());
    Ok(regex)
}

/// A list of matchers: a regex, a `{regex, negate}` mapping, or a list of them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct MatcherList(pub Vec<Matcher>);

/// The path Gerrit uses for a change's commit message, never a changed file.
const COMMIT_MSG: &str = "/COMMIT_MSG";

impl MatcherList {
    /// True when any matcher matches `text`.
    pub fn any(&self, text: &str) -> bool {
        self.0.iter().any(|m| m.matches(text))
    }

    /// Zuul's `files`: true when any changed file matches, or when the files are unknown or none.
    pub fn any_file(&self, files: Option<&[String]>) -> bool {
        let files = changed(files);
        files.is_empty() || files.iter().any(|f| self.any(f))
    }

    /// Zuul's `irrelevant-files`: true when there are files and every one matches.
    pub fn all_files(&self, files: Option<&[String]>) -> bool {
        let files = changed(files);
        !files.is_empty() && files.iter().all(|f| self.any(f))
    }
}

fn changed(files: Option<&[String]>) -> Vec<&String> {
    let files = files.into_iter().flatten();
    files.filter(|f| *f != COMMIT_MSG).collect()
}

impl<'de> Deserialize<'de> for MatcherList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = MatcherList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a regex, a {regex, negate} mapping, or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MatcherList, E> {
                Matcher::new(v, false)
                    .map(|m| MatcherList(vec![m]))
                    .map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MatcherList, A::Error> {
                let one = OneMatcher::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(MatcherList(vec![one.0]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MatcherList, A::Error> {
                let mut out = Vec::new();
                while let Some(one) = seq.next_element::<OneMatcher>()? {
                    out.push(one.0);
                }
                Ok(MatcherList(out))
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

struct OneMatcher(Matcher);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RegexForm {
    regex: String,
    #[serde(default)]
    negate: bool,
}

impl<'de> Deserialize<'de> for OneMatcher {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneVisitor;
        impl<'de> Visitor<'de> for OneVisitor {
            type Value = OneMatcher;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a regex or a {regex, negate} mapping")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneMatcher, E> {
                Matcher::new(v, false).map(OneMatcher).map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<OneMatcher, A::Error> {
                let form = RegexForm::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Matcher::new(&form.regex, form.negate)
                    .map(OneMatcher)
                    .map_err(de::Error::custom)
            }
        }
        deserializer.deserialize_any(OneVisitor)
    }
}
