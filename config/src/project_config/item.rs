//! A top-level item of a project config file: which object it is, and its checks.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use super::ConfigObject;
use crate::job::{JobVariant, NodesetForm, NodesetRef, RawJob, Source};
use crate::pipeline::RawPipeline;
use crate::pragma::RawPragma;
use crate::project::{ProjectDef, RawProject};
use crate::semaphore::{Queue, RawSecret, Secret, Semaphore};
use crate::ConfigError;

/// A top-level item as written: a single-key mapping naming the object's kind.
pub enum RawItem {
    Pipeline(Box<RawPipeline>),
    Job(Box<RawJob>),
    Project(RawProject),
    ProjectTemplate(RawProject),
    Nodeset(NodesetForm),
    Semaphore(Semaphore),
    Queue(Queue),
    Secret(RawSecret),
    Pragma(RawPragma),
}

/// Object kinds Zuul knows that we do not handle yet.
const LATER_KINDS: &[&str] = &["image", "flavor", "label", "section", "provider"];

const KINDS: &str =
    "pipeline, job, project, project-template, nodeset, semaphore, queue, secret or pragma";

impl<'de> Deserialize<'de> for RawItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = RawItem;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a single-key mapping such as `job: {...}`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawItem, A::Error> {
                let Some(kind) = map.next_key::<String>()? else {
                    return Err(de::Error::custom("empty item"));
                };
                let item = match kind.as_str() {
                    "pipeline" => RawItem::Pipeline(map.next_value()?),
                    "job" => RawItem::Job(map.next_value()?),
                    "project" => RawItem::Project(map.next_value()?),
                    "project-template" => RawItem::ProjectTemplate(map.next_value()?),
                    "nodeset" => RawItem::Nodeset(map.next_value()?),
                    "semaphore" => RawItem::Semaphore(map.next_value()?),
                    "queue" => RawItem::Queue(map.next_value()?),
                    "secret" => RawItem::Secret(map.next_value()?),
                    "pragma" => RawItem::Pragma(map.next_value()?),
                    later if LATER_KINDS.contains(&later) => {
                        return Err(de::Error::custom(format!(
                            "`{later}` objects are not supported yet"
                        )))
                    }
                    other => {
                        return Err(de::Error::custom(format!(
                            "unknown object `{other}`, expected {KINDS}"
                        )))
                    }
                };
                if let Some(extra) = map.next_key::<String>()? {
                    return Err(de::Error::custom(format!(
                        "an item holds one object, but `{kind}` is followed by `{extra}`"
                    )));
                }
                Ok(item)
            }
        }
        deserializer.deserialize_map(ItemVisitor)
    }
}

/// Checks one item, written at `source`.
pub fn check_item(source: Source, item: RawItem) -> Result<ConfigObject, ConfigError> {
    let trusted_only = |kind: &str, name: &str| {
        let message = format!("{kind} {name}: {kind}s may only be defined in config projects");
        Err(ConfigError::at(&source, message))
    };
    match item {
        RawItem::Pipeline(raw) if !source.trusted => trusted_only("pipeline", &raw.name),
        RawItem::Pipeline(mut raw) => {
            raw.source = source;
            Ok(ConfigObject::Pipeline(raw))
        }
        RawItem::Job(raw) => {
            JobVariant::from_raw(*raw, source).map(|v| ConfigObject::Job(Box::new(v)))
        }
        RawItem::Project(raw) => ProjectDef::from_raw(raw, source).map(ConfigObject::Project),
        RawItem::ProjectTemplate(raw) => template(raw, source),
        RawItem::Nodeset(form) => nodeset(form, source),
        RawItem::Semaphore(s) => Ok(ConfigObject::Semaphore(s, source)),
        RawItem::Queue(q) => Ok(ConfigObject::Queue(q, source)),
        RawItem::Secret(raw) => secret(raw, source),
        RawItem::Pragma(_) => Err(ConfigError::at(&source, "a pragma is read with its file")),
    }
}

fn template(raw: RawProject, source: Source) -> Result<ConfigObject, ConfigError> {
    if raw.name.is_none() {
        return Err(ConfigError::at(&source, "project-template has no name"));
    }
    for (key, set) in [
        ("templates", !raw.templates.is_empty()),
        ("default-branch", raw.default_branch.is_some()),
        ("merge-mode", raw.merge_mode.is_some()),
    ] {
        if set {
            let message = format!("a project-template cannot set `{key}`");
            return Err(ConfigError::at(&source, message));
        }
    }
    ProjectDef::from_raw(raw, source).map(ConfigObject::ProjectTemplate)
}

fn nodeset(form: NodesetForm, source: Source) -> Result<ConfigObject, ConfigError> {
    if form.name.is_empty() {
        return Err(ConfigError::at(&source, "nodeset has no name"));
    }
    let name = form.name.clone();
    let at = |m: String| ConfigError::at(&source, format!("nodeset {name}: {m}"));
    match form.into_ref().map_err(at)? {
        NodesetRef::Inline(nodeset) => {
            nodeset.check().map_err(at)?;
            Ok(ConfigObject::Nodeset(nodeset, source))
        }
        NodesetRef::Alternatives(all) => Ok(ConfigObject::NodesetAlternatives(name, all, source)),
        NodesetRef::Named(_) => Err(at("expected nodes or alternatives".into())),
    }
}

fn secret(raw: RawSecret, source: Source) -> Result<ConfigObject, ConfigError> {
    let data = serde_json::to_value(&raw.data)
        .map_err(|e| ConfigError::at(&source, format!("secret {}: {e}", raw.name)))?;
    Ok(ConfigObject::Secret(Secret {
        name: raw.name,
        data,
        source,
    }))
}

/// Attributes of Zuul objects that we do not handle yet, to say so instead of "unknown".
const LATER: &[&str] = &[
    "include-vars",
    "failure-output",
    "image-build-name",
    "workspace-checkout",
    "ansible-split-streams",
    "file-matcher",
    "allow-other-connections",
];

/// Rewrites serde's "unknown field `x`, expected ..." for Zuul attributes we do not handle yet.
pub fn explain_later(message: String) -> String {
    let Some(start) = message.find("unknown field `") else {
        return message;
    };
    let rest = &message[start + "unknown field `".len()..];
    let field = rest.split('`').next().unwrap_or_default();
    if LATER.contains(&field) {
        format!("{}`{field}` is not supported yet", &message[..start])
    } else {
        message
    }
}
