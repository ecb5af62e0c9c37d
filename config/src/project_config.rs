//! Parsing one project config file (zuul.yaml, zuul.d/*.yaml, ...) into objects.

use crate::job::JobVariant;
use crate::layout::ConfigFile;
use crate::nodeset::Nodeset;
use crate::project::ProjectDef;
use crate::ConfigError;

/// One object of a project config file.
#[derive(Debug, Clone)]
pub enum ConfigObject {
    /// `- pipeline:`; kept raw until the layout knows the connections' drivers.
    Pipeline(RawPipeline),
    /// `- job:`
    Job(JobVariant),
    /// `- project:`
    Project(ProjectDef),
    /// `- nodeset:`
    Nodeset(Nodeset, crate::job::Source),
}

/// A pipeline as written, before its triggers are checked against connections.
#[derive(Debug, Clone)]
pub struct RawPipeline {
    /// The pipeline stanza as YAML.
    pub body: serde_yaml::Value,
    /// Where it was defined.
    pub source: crate::job::Source,
}

/// Parses one config file; every error names the file and line.
pub fn parse_project_config(file: &ConfigFile) -> Result<Vec<ConfigObject>, Vec<ConfigError>> {
    let _ = file;
    todo!("parse project config")
}
