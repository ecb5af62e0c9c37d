//! Project stanzas: which jobs run for a project in each pipeline.
//!
//! [`RawProject`] is the stanza as written (every key but `name` and
//! `description` names a pipeline); [`ProjectDef::from_raw`] checks it.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use crate::form::single_entry;
use crate::job::{JobVariant, RawJob, Source};
use crate::ConfigError;

/// One `- project:` stanza.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProjectDef {
    /// Project name; `None` in a project's own repo means that project.
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
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

/// Project stanza keys Zuul knows that we do not handle yet.
const LATER: &[&str] = &["templates", "vars", "default-branch", "merge-mode", "queue"];

/// A `- project:` stanza as written.
#[derive(Debug, Default)]
pub struct RawProject {
    /// Project name.
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Pipeline name and its job list, in the order written.
    pub pipelines: Vec<(String, RawProjectPipeline)>,
}

/// A project's entry for one pipeline, as written.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProjectPipeline {
    /// Job entries.
    #[serde(default)]
    pub jobs: Vec<RawJobEntry>,
}

/// A job entry: a job name, or `{job-name: {attributes}}`.
#[derive(Debug)]
pub struct RawJobEntry {
    /// Job name.
    pub name: String,
    /// Project-local attributes, if any.
    pub attributes: Option<RawJob>,
}

impl ProjectDef {
    /// Checks a stanza written at `source`; in a config project the name is required.
    pub fn from_raw(raw: RawProject, source: Source) -> Result<ProjectDef, ConfigError> {
        if raw.name.is_none() && source.trusted {
            return Err(ConfigError::at(
                &source,
                "a project stanza in a config project needs a name",
            ));
        }
        let mut pipelines = BTreeMap::new();
        for (pipeline, entry) in raw.pipelines {
            let jobs = entry
                .jobs
                .into_iter()
                .map(|job| {
                    let attributes = job.attributes.unwrap_or_default();
                    JobVariant::from_project_entry(job.name, attributes, source.clone())
                })
                .collect::<Result<_, _>>()?;
            pipelines.insert(pipeline, ProjectPipeline { jobs });
        }
        Ok(ProjectDef {
            name: raw.name,
            description: raw.description,
            pipelines,
            source,
        })
    }
}

impl<'de> Deserialize<'de> for RawProject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ProjectVisitor;
        impl<'de> Visitor<'de> for ProjectVisitor {
            type Value = RawProject;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a project stanza (name, description, and pipelines)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawProject, A::Error> {
                let mut raw = RawProject::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "name" => raw.name = Some(map.next_value()?),
                        "description" => raw.description = map.next_value()?,
                        later if LATER.contains(&later) => {
                            return Err(de::Error::custom(format!(
                                "project attribute `{later}` is not supported yet"
                            )))
                        }
                        _ if raw.pipelines.iter().any(|(p, _)| *p == key) => {
                            return Err(de::Error::custom(format!(
                                "pipeline `{key}` is listed twice"
                            )))
                        }
                        _ => {
                            let entry = map.next_value::<Option<RawProjectPipeline>>()?;
                            raw.pipelines.push((key, entry.unwrap_or_default()));
                        }
                    }
                }
                Ok(raw)
            }
        }
        deserializer.deserialize_map(ProjectVisitor)
    }
}

impl<'de> Deserialize<'de> for RawJobEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = RawJobEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a job name or a {job-name: {attributes}} mapping")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawJobEntry, E> {
                Ok(RawJobEntry {
                    name: v.to_string(),
                    attributes: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawJobEntry, A::Error> {
                let (name, attributes) = single_entry::<A, Option<RawJob>>(map, "job entry")?;
                Ok(RawJobEntry { name, attributes })
            }
        }
        deserializer.deserialize_any(EntryVisitor)
    }
}
