//! Project stanzas: which jobs run for a project in each pipeline.

use std::collections::BTreeMap;

use crate::job::{JobVariant, Source};

/// One `- project:` stanza.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProjectDef {
    /// Project name; `None` in a project's own repo means that project.
    pub name: Option<String>,
    /// Per pipeline name, the jobs to run.
    pub pipelines: BTreeMap<String, ProjectPipeline>,
    /// Where the stanza was defined.
    pub source: Source,
}

/// A project's jobs in one pipeline.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProjectPipeline {
    /// Jobs in order, each possibly with a project-local variant.
    pub jobs: Vec<JobVariant>,
}
