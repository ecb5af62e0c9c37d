//! Project stanzas: which jobs run for a project in each pipeline.
//!
//! [`RawProject`] is the stanza as written (every key but the project
//! attributes names a pipeline); [`ProjectDef::from_raw`] checks it. The same
//! shape serves `- project-template:` stanzas.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use crate::form::{single_entry, StringList};
use crate::job::{JobVariant, RawJob, Source, Vars};
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
    /// Templates whose jobs the project also runs.
    pub templates: Vec<String>,
    /// Variables every job of the project gets, under the jobs' own.
    pub vars: Option<Vars>,
    /// The shared change queue of the project's dependent pipelines.
    pub queue: Option<String>,
    /// The branch a ref without one is taken to be on.
    pub default_branch: Option<String>,
    /// How changes merge: merge, merge-resolve, cherry-pick, squash-merge, rebase.
    pub merge_mode: Option<String>,
    /// Where the stanza was defined.
    pub source: Source,
}

/// A project's jobs in one pipeline.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProjectPipeline {
    /// Jobs in order, each possibly with a project-local variant.
    pub jobs: Vec<JobVariant>,
    /// Shared queue named here (Zuul's older place for `queue`).
    pub queue: Option<String>,
    /// Whether the first failing job cancels the rest.
    pub fail_fast: Option<bool>,
    /// Whether reports carry debug information.
    pub debug: Option<bool>,
}

/// Merge modes Zuul knows.
const MERGE_MODES: &[&str] = &[
    "merge",
    "merge-resolve",
    "cherry-pick",
    "squash-merge",
    "rebase",
];

/// A `- project:` stanza as written.
#[derive(Debug, Default)]
pub struct RawProject {
    /// Project name.
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Pipeline name and its job list, in the order written.
    pub pipelines: Vec<(String, RawProjectPipeline)>,
    /// Template names.
    pub templates: Vec<String>,
    /// Project variables.
    pub vars: Option<Vars>,
    /// Shared queue name.
    pub queue: Option<String>,
    /// Default branch.
    pub default_branch: Option<String>,
    /// Merge mode.
    pub merge_mode: Option<String>,
}

/// A project's entry for one pipeline, as written.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawProjectPipeline {
    /// Job entries.
    #[serde(default)]
    pub jobs: Vec<RawJobEntry>,
    /// Shared queue name.
    pub queue: Option<String>,
    /// Cancel the rest on the first failure.
    pub fail_fast: Option<bool>,
    /// Debug reports.
    pub debug: Option<bool>,
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
        if let Some(mode) = raw
            .merge_mode
            .as_deref()
            .filter(|m| !MERGE_MODES.contains(m))
        {
            let message = format!(
                "merge-mode `{mode}` is not one of {}",
                MERGE_MODES.join(", ")
            );
            return Err(ConfigError::at(&source, message));
        }
        if let Some(name) = raw.name.as_deref().filter(|n| n.starts_with('^')) {
            if let Err(e) = crate::job::Matcher::new(name, false) {
                return Err(ConfigError::at(&source, format!("project name {e}")));
            }
        }
        let mut pipelines = BTreeMap::new();
        for (pipeline, entry) in raw.pipelines {
            let mut jobs: Vec<JobVariant> = entry
                .jobs
                .into_iter()
                .map(|job| {
                    let attributes = job.attributes.unwrap_or_default();
                    JobVariant::from_project_entry(job.name, attributes, source.clone())
                })
                .collect::<Result<_, _>>()?;
            // Collected in place into the raw entries' larger buffer: give back the rest.
            jobs.shrink_to_fit();
            let entry_settings = ProjectPipeline {
                jobs,
                queue: entry.queue,
                fail_fast: entry.fail_fast,
                debug: entry.debug,
            };
            pipelines.insert(pipeline, entry_settings);
        }
        Ok(ProjectDef {
            name: raw.name,
            description: raw.description,
            pipelines,
            templates: raw.templates,
            vars: raw.vars,
            queue: raw.queue,
            default_branch: raw.default_branch,
            merge_mode: raw.merge_mode,
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
                        "templates" => raw.templates = map.next_value::<StringList>()?.0,
                        "vars" => raw.vars = map.next_value()?,
                        "queue" => raw.queue = map.next_value()?,
                        "default-branch" => raw.default_branch = map.next_value()?,
                        "merge-mode" => raw.merge_mode = map.next_value()?,
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
