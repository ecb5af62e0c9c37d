//! Parsing one project config file (zuul.yaml, zuul.d/*.yaml, ...) into objects.
//!
//! Each top-level item is parsed on its own (see [`crate::stanza`]), so one bad
//! object yields one located error and the file's other objects still load.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use crate::job::{JobVariant, RawJob, Source};
use crate::layout::ConfigFile;
use crate::nodeset::Nodeset;
use crate::project::{ProjectDef, RawProject};
use crate::stanza::{self, Located};
use crate::ConfigError;

pub use crate::pipeline::RawPipeline;

/// One object of a project config file.
#[derive(Debug, Clone)]
pub enum ConfigObject {
    /// `- pipeline:`; checked later, when the layout knows the connections' drivers.
    Pipeline(RawPipeline),
    /// `- job:`
    Job(JobVariant),
    /// `- project:`
    Project(ProjectDef),
    /// `- nodeset:`
    Nodeset(Nodeset, Source),
}

/// A top-level item as written: a single-key mapping naming the object's kind.
enum RawItem {
    Pipeline(RawPipeline),
    Job(RawJob),
    Project(RawProject),
    Nodeset(Nodeset),
}

/// Object kinds Zuul knows that we do not handle yet.
const LATER_KINDS: &[&str] = &[
    "secret",
    "semaphore",
    "project-template",
    "queue",
    "pragma",
    "image",
    "flavor",
    "label",
    "section",
    "provider",
];

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
                    "nodeset" => RawItem::Nodeset(map.next_value()?),
                    later if LATER_KINDS.contains(&later) => {
                        return Err(de::Error::custom(format!(
                            "`{later}` objects are not supported yet"
                        )))
                    }
                    other => {
                        return Err(de::Error::custom(format!(
                            "unknown object `{other}`, expected pipeline, job, project or nodeset"
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

/// Attributes of Zuul objects that we do not handle yet, to say so instead of "unknown".
const LATER: &[&str] = &[
    "branches",
    "files",
    "irrelevant-files",
    "required-projects",
    "roles",
    "secrets",
    "dependencies",
    "semaphores",
    "semaphore",
    "final",
    "protected",
    "post-review",
    "provides",
    "requires",
    "host-vars",
    "group-vars",
    "extra-vars",
    "cleanup-run",
    "override-checkout",
    "override-branch",
    "tags",
    "allowed-projects",
    "match-on-config-updates",
    "post-timeout",
    "workspace-scheme",
    "intermediate",
    "deduplicate",
    "file-matcher",
    "require",
    "reject",
    "enqueue",
    "dequeue",
    "merge-conflict",
    "no-jobs",
    "disabled",
    "window",
    "window-floor",
    "window-increase-type",
    "window-increase-factor",
    "window-decrease-type",
    "window-decrease-factor",
    "supercedes",
    "allow-other-connections",
    "success-message",
    "failure-message",
    "start-message",
    "footer-message",
    "alternatives",
];

/// Parses one config file; every error names the file and line.
pub fn parse_project_config(file: &ConfigFile) -> Result<Vec<ConfigObject>, Vec<ConfigError>> {
    match parse_objects(file) {
        (objects, errors) if errors.is_empty() => Ok(objects),
        (_, errors) => Err(errors),
    }
}

/// Parses one config file into the objects that are fine and the errors of the others.
pub fn parse_objects(file: &ConfigFile) -> (Vec<ConfigObject>, Vec<ConfigError>) {
    let relocate = |mut e: ConfigError| {
        e.project = Some(file.project.clone());
        e.branch = Some(file.branch.clone());
        e.message = explain_later(e.message);
        e
    };
    let items = match stanza::parse_list::<RawItem>(&file.path, &file.text) {
        Ok(items) => items,
        Err(e) => return (Vec::new(), vec![relocate(e)]),
    };
    let mut objects = Vec::new();
    let mut errors = Vec::new();
    for item in items {
        match item
            .map_err(relocate)
            .and_then(|item| check_item(file, item))
        {
            Ok(object) => objects.push(object),
            Err(e) => errors.push(e),
        }
    }
    (objects, errors)
}

fn check_item(file: &ConfigFile, located: Located<RawItem>) -> Result<ConfigObject, ConfigError> {
    let source = source_of(file, located.line);
    match located.item {
        RawItem::Pipeline(mut raw) => {
            if !file.trusted {
                let message = format!(
                    "pipeline {}: pipelines may only be defined in config projects",
                    raw.name
                );
                return Err(ConfigError::at(&source, message));
            }
            raw.source = source;
            Ok(ConfigObject::Pipeline(raw))
        }
        RawItem::Job(raw) => JobVariant::from_raw(raw, source).map(ConfigObject::Job),
        RawItem::Project(raw) => ProjectDef::from_raw(raw, source).map(ConfigObject::Project),
        RawItem::Nodeset(nodeset) => {
            if nodeset.name.is_empty() {
                return Err(ConfigError::at(&source, "nodeset has no name"));
            }
            nodeset
                .check()
                .map_err(|m| ConfigError::at(&source, format!("nodeset {}: {m}", nodeset.name)))?;
            Ok(ConfigObject::Nodeset(nodeset, source))
        }
    }
}

fn source_of(file: &ConfigFile, line: usize) -> Source {
    Source {
        connection: file.connection.clone(),
        project: file.project.clone(),
        branch: file.branch.clone(),
        commit: file.commit.clone(),
        path: file.path.clone(),
        line,
        trusted: file.trusted,
    }
}

/// Rewrites serde's "unknown field `x`, expected ..." for Zuul attributes we do not handle yet.
fn explain_later(message: String) -> String {
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

#[cfg(test)]
mod tests;
