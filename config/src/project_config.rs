//! Parsing one project config file (zuul.yaml, zuul.d/*.yaml, ...) into objects.
//!
//! Each top-level item is parsed on its own (see [`crate::stanza`]), so one bad
//! object yields one located error and the file's other objects still load.
//! A file's pragma applies to every object in it, wherever it is written.

mod item;

use std::sync::Arc;

use crate::job::{JobVariant, NodesetRef, Source, SourceFile};
use crate::layout::ConfigFile;
use crate::nodeset::Nodeset;
use crate::pragma::Pragma;
use crate::project::ProjectDef;
use crate::semaphore::{Queue, Secret, Semaphore};
use crate::stanza::{self, Located};
use crate::ConfigError;

pub use crate::pipeline::RawPipeline;
use item::RawItem;

/// One object of a project config file.
#[derive(Debug, Clone)]
pub enum ConfigObject {
    /// `- pipeline:`; checked later, when the layout knows the connections' drivers.
    Pipeline(Box<RawPipeline>),
    /// `- job:`
    Job(Box<JobVariant>),
    /// `- project:`
    Project(ProjectDef),
    /// `- project-template:`
    ProjectTemplate(ProjectDef),
    /// `- nodeset:` with nodes and groups.
    Nodeset(Nodeset, Source),
    /// `- nodeset:` with alternatives.
    NodesetAlternatives(String, Vec<NodesetRef>, Source),
    /// `- semaphore:`
    Semaphore(Semaphore, Source),
    /// `- queue:`
    Queue(Queue, Source),
    /// `- secret:`
    Secret(Secret),
}

impl ConfigObject {
    /// The object's kind as the tenant config's include/exclude lists name it.
    pub fn kind(&self) -> &'static str {
        match self {
            ConfigObject::Pipeline(_) => "pipeline",
            ConfigObject::Job(_) => "job",
            ConfigObject::Project(_) => "project",
            ConfigObject::ProjectTemplate(_) => "project-template",
            ConfigObject::Nodeset(..) | ConfigObject::NodesetAlternatives(..) => "nodeset",
            ConfigObject::Semaphore(..) => "semaphore",
            ConfigObject::Queue(..) => "queue",
            ConfigObject::Secret(_) => "secret",
        }
    }
}

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
        e.message = item::explain_later(e.message);
        e
    };
    let items = match stanza::parse_list::<RawItem>(&file.path, &file.text) {
        Ok(items) => items,
        Err(e) => return (Vec::new(), vec![relocate(e)]),
    };
    let mut pragma = Pragma::default();
    let mut errors = Vec::new();
    let mut rest = Vec::new();
    for item in items {
        match item.map_err(relocate) {
            Ok(Located {
                item: RawItem::Pragma(raw),
                ..
            }) => pragma = raw.into(),
            Ok(located) => rest.push(located),
            Err(e) => errors.push(e),
        }
    }
    let source_file = Arc::new(source_file(file, pragma));
    let mut objects = Vec::new();
    for located in rest {
        let source = Source {
            file: source_file.clone(),
            line: located.line,
        };
        match item::check_item(source, located.item) {
            Ok(object) => objects.push(object),
            Err(e) => errors.push(e),
        }
    }
    (objects, errors)
}

fn source_file(file: &ConfigFile, pragma: Pragma) -> SourceFile {
    SourceFile {
        connection: file.connection.clone(),
        project: file.project.clone(),
        branch: file.branch.clone(),
        commit: file.commit.clone(),
        path: file.path.clone(),
        trusted: file.trusted,
        pragma,
    }
}

#[cfg(test)]
mod tests;
