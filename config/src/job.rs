//! Jobs as written: one variant of a job, before inheritance and freezing.
//!
//! [`RawJob`] is the stanza as serde reads it; [`JobVariant::from_raw`] checks
//! it against the rules that need to know where it was written.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::form::explicit_null;
use crate::nodeset::Nodeset;
use crate::ConfigError;

/// A job's nodeset: by name or written inline.
#[derive(Debug, Clone, PartialEq)]
pub enum NodesetRef {
    /// A nodeset defined elsewhere in the layout.
    Named(String),
    /// An inline nodeset.
    Inline(Nodeset),
}

/// One variant of a job, as one `- job:` stanza (or a project's job entry) defines it.
/// `None` means "not set here", so inheritance can tell unset from set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobVariant {
    /// Job name.
    pub name: String,
    /// `None`: the default parent (`base`); `Some(None)`: explicitly no parent.
    pub parent: Option<Option<String>>,
    /// Free text.
    pub description: Option<String>,
    /// Playbooks run before `run`, in order, parents' first.
    pub pre_run: Option<Vec<String>>,
    /// The main playbooks; a child's replace its parent's.
    pub run: Option<Vec<String>>,
    /// Playbooks run after `run`, in order, children's first.
    pub post_run: Option<Vec<String>>,
    /// Nodeset to run on.
    pub nodeset: Option<NodesetRef>,
    /// Seconds the run phase may take.
    pub timeout: Option<u64>,
    /// Whether the job's result counts.
    pub voting: Option<bool>,
    /// Job variables (a YAML mapping converted to JSON).
    pub vars: Option<serde_json::Map<String, serde_json::Value>>,
    /// Whether the job may only be inherited from, not run.
    pub is_abstract: Option<bool>,
    /// How many times a build is tried when its pre-run fails.
    pub attempts: Option<u32>,
    /// Where this variant was defined.
    pub source: Source,
}

/// Where a config object was defined.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Source {
    /// Connection of the project.
    pub connection: String,
    /// Project whose repo holds the file.
    pub project: String,
    /// Branch the file was read from.
    pub branch: String,
    /// Commit the file was read at.
    pub commit: String,
    /// Path of the file in the repo.
    pub path: String,
    /// 1-based line of the object.
    pub line: usize,
    /// True when the project is a config project.
    pub trusted: bool,
}

/// A `- job:` stanza, or the attributes of a project's job entry, as written.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawJob {
    /// Job name (absent in a project's job entry, where the key names the job).
    pub name: Option<String>,
    /// Absent, null, or a parent job name.
    #[serde(default, deserialize_with = "explicit_null")]
    pub parent: Option<Option<String>>,
    /// Free text.
    pub description: Option<String>,
    /// Main playbooks.
    pub run: Option<Playbooks>,
    /// Pre-run playbooks.
    pub pre_run: Option<Playbooks>,
    /// Post-run playbooks.
    pub post_run: Option<Playbooks>,
    /// Nodeset by name or inline.
    pub nodeset: Option<NodesetRef>,
    /// Seconds.
    pub timeout: Option<u64>,
    /// Whether the result counts.
    pub voting: Option<bool>,
    /// Job variables.
    pub vars: Option<serde_json::Map<String, serde_json::Value>>,
    /// Inherit-only job.
    #[serde(rename = "abstract")]
    pub is_abstract: Option<bool>,
    /// Tries on pre-run failure.
    pub attempts: Option<u32>,
}

impl JobVariant {
    /// Checks a `- job:` stanza written at `source`.
    pub fn from_raw(raw: RawJob, source: Source) -> Result<JobVariant, ConfigError> {
        let Some(name) = raw.name.clone() else {
            return Err(ConfigError::at(&source, "job has no name"));
        };
        if raw.parent == Some(None) && !source.trusted {
            return Err(ConfigError::at(
                &source,
                format!("job {name}: only a config project may define a base job (parent: null)"),
            ));
        }
        let parent = raw.parent.clone();
        let mut variant = JobVariant::with_attributes(name, raw, source)?;
        variant.parent = parent;
        Ok(variant)
    }

    /// Checks the variant a project stanza writes for job `name`.
    pub fn from_project_entry(
        name: String,
        raw: RawJob,
        source: Source,
    ) -> Result<JobVariant, ConfigError> {
        for (key, set) in [
            ("name", raw.name.is_some()),
            ("parent", raw.parent.is_some()),
        ] {
            if set {
                return Err(ConfigError::at(
                    &source,
                    format!("job {name}: a project's job entry cannot set `{key}`"),
                ));
            }
        }
        JobVariant::with_attributes(name, raw, source)
    }

    fn with_attributes(name: String, raw: RawJob, source: Source) -> Result<Self, ConfigError> {
        if let Some(NodesetRef::Inline(nodeset)) = &raw.nodeset {
            nodeset
                .check()
                .map_err(|m| ConfigError::at(&source, format!("job {name}: nodeset: {m}")))?;
        }
        Ok(JobVariant {
            name,
            parent: None,
            description: raw.description,
            pre_run: raw.pre_run.map(|p| p.0),
            run: raw.run.map(|p| p.0),
            post_run: raw.post_run.map(|p| p.0),
            nodeset: raw.nodeset,
            timeout: raw.timeout,
            voting: raw.voting,
            vars: raw.vars,
            is_abstract: raw.is_abstract,
            attempts: raw.attempts,
            source,
        })
    }

    /// The parent this variant names, with the default (`base`) applied.
    pub fn parent_name(&self) -> Option<&str> {
        match &self.parent {
            Some(explicit) => explicit.as_deref(),
            None if self.name == "base" => None,
            None => Some("base"),
        }
    }
}

/// Playbook paths: a string, a list, or Zuul's `{name: path}` form, normalised to paths.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Playbooks(pub Vec<String>);

impl<'de> Deserialize<'de> for Playbooks {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PlaybooksVisitor;
        impl<'de> Visitor<'de> for PlaybooksVisitor {
            type Value = Playbooks;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a playbook path, a {name: path} mapping, or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Playbooks, E> {
                Ok(Playbooks(vec![v.to_string()]))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Playbooks, A::Error> {
                Ok(Playbooks(vec![playbook_name(map)?]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Playbooks, A::Error> {
                let mut out = Vec::new();
                while let Some(one) = seq.next_element::<PlaybookItem>()? {
                    out.push(one.0);
                }
                Ok(Playbooks(out))
            }
        }
        deserializer.deserialize_any(PlaybooksVisitor)
    }
}

/// One entry of a playbook list: a path or `{name: path}`.
struct PlaybookItem(String);

impl<'de> Deserialize<'de> for PlaybookItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = PlaybookItem;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a playbook path or a {name: path} mapping")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PlaybookItem, E> {
                Ok(PlaybookItem(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PlaybookItem, A::Error> {
                playbook_name(map).map(PlaybookItem)
            }
        }
        deserializer.deserialize_any(ItemVisitor)
    }
}

fn playbook_name<'de, A: MapAccess<'de>>(mut map: A) -> Result<String, A::Error> {
    let mut path = None;
    while let Some(key) = map.next_key::<String>()? {
        if key != "name" {
            return Err(de::Error::custom(format!(
                "playbook attribute `{key}` is not supported yet; expected `name`"
            )));
        }
        path = Some(map.next_value::<String>()?);
    }
    path.ok_or_else(|| de::Error::custom("playbook: missing `name`"))
}

impl<'de> Deserialize<'de> for NodesetRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RefVisitor;
        impl<'de> Visitor<'de> for RefVisitor {
            type Value = NodesetRef;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a nodeset name or an inline nodeset")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<NodesetRef, E> {
                Ok(NodesetRef::Named(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<NodesetRef, A::Error> {
                let nodeset = Nodeset::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(NodesetRef::Inline(nodeset))
            }
        }
        deserializer.deserialize_any(RefVisitor)
    }
}
