//! Parsing one project config file (zuul.yaml, zuul.d/*.yaml, ...) into objects.
//!
//! Each top-level item is parsed on its own (see [`crate::stanza`]), so one bad
//! object yields one located error and the file's other objects still load.

use serde::Deserialize;

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

/// A top-level item as written.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawItem {
    Pipeline(RawPipeline),
    Job(RawJob),
    Project(RawProject),
    Nodeset(Nodeset),
    Secret(serde::de::IgnoredAny),
    Semaphore(serde::de::IgnoredAny),
    ProjectTemplate(serde::de::IgnoredAny),
    Queue(serde::de::IgnoredAny),
    Pragma(serde::de::IgnoredAny),
    ImageBuild(serde::de::IgnoredAny),
}

/// Attributes of Zuul objects that we do not handle yet, to say so instead of "unknown".
const LATER: &[&str] = &[
    "branches", "files", "irrelevant-files", "required-projects", "roles", "secrets",
    "dependencies", "semaphores", "semaphore", "final", "protected", "post-review",
    "provides", "requires", "host-vars", "group-vars", "extra-vars", "cleanup-run",
    "override-checkout", "override-branch", "tags", "allowed-projects", "match-on-config-updates",
    "post-timeout", "workspace-scheme", "intermediate", "deduplicate", "file-matcher",
    "require", "reject", "enqueue", "dequeue", "merge-conflict", "no-jobs", "disabled",
    "window", "window-floor", "window-increase-type", "window-increase-factor",
    "window-decrease-type", "window-decrease-factor", "supercedes", "allow-other-connections",
    "success-message", "failure-message", "start-message", "footer-message", "alternatives",
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
        match item.map_err(relocate).and_then(|item| check_item(file, item)) {
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
            nodeset.check().map_err(|m| {
                ConfigError::at(&source, format!("nodeset {}: {m}", nodeset.name))
            })?;
            Ok(ConfigObject::Nodeset(nodeset, source))
        }
        RawItem::Secret(_)
        | RawItem::Semaphore(_)
        | RawItem::ProjectTemplate(_)
        | RawItem::Queue(_)
        | RawItem::Pragma(_)
        | RawItem::ImageBuild(_) => Err(ConfigError::at(
            &source,
            "this kind of object is not supported yet",
        )),
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
