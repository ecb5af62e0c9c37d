//! A tenant's layout: every config object of its projects, assembled and checked.
//!
//! Objects are added file by file ([`Layout::build`]); checks that need every
//! object (parents, nodeset and pipeline names) run once all files are in
//! (see `layout/check.rs`). An object with a problem is left out and its
//! error kept in [`Layout::errors`].

mod check;
mod lookup;
mod refs;
mod speculative;

pub use speculative::Speculation;

pub use lookup::ProjectPipelineConfig;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use crate::encryption::{decrypt_data, ProjectKeys};
use crate::freeze::FrozenJob;
use crate::job::{JobVariant, NodesetRef, Source};
use crate::nodeset::Nodeset;
use crate::pipeline::Pipeline;
use crate::project::ProjectDef;
use crate::project_config::{parse_objects, ConfigObject};
use crate::semaphore::{Queue, Secret, Semaphore};
use crate::tenant::TenantDef;
use crate::ConfigError;

/// One config file read from a project's repo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// Connection of the project.
    pub connection: String,
    /// Project whose repo holds the file.
    pub project: String,
    /// Branch it was read from.
    pub branch: String,
    /// Commit it was read at.
    pub commit: String,
    /// Path in the repo (`zuul.yaml`, `zuul.d/jobs.yaml`, ...).
    pub path: String,
    /// True when the project is a config project of the tenant.
    pub trusted: bool,
    /// The file's text, shared with the loader's cache of unchanged files.
    pub text: Arc<str>,
}

/// The assembled configuration of one tenant.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// Tenant name.
    pub tenant: String,
    /// Pipelines in definition order.
    pub pipelines: Vec<Pipeline>,
    /// Job variants by job name, in definition order.
    pub jobs: BTreeMap<String, Vec<JobVariant>>,
    /// Project stanzas by project name.
    pub projects: BTreeMap<String, Vec<ProjectDef>>,
    /// Nodesets by name.
    pub nodesets: BTreeMap<String, Nodeset>,
    /// Project-template stanzas by template name.
    pub templates: BTreeMap<String, Vec<ProjectDef>>,
    /// Nodesets made of alternatives, by name.
    pub nodeset_alternatives: BTreeMap<String, Vec<NodesetRef>>,
    /// Semaphores by name.
    pub semaphores: BTreeMap<String, Semaphore>,
    /// Shared queues by name.
    pub queues: BTreeMap<String, Queue>,
    /// Secrets by name.
    pub secrets: BTreeMap<String, Secret>,
    /// The parent of jobs that name none (the tenant's `default-parent`; `base` when unset).
    pub default_parent: Option<String>,
    /// Most nodes a job may use (the tenant's max-nodes-per-job).
    pub max_nodes_per_job: u32,
    /// Longest timeout a job may set, in seconds (the tenant's max-job-timeout).
    pub max_job_timeout: u64,
    /// Per project, the branches config was read from (for implied branch matchers).
    pub branches: BTreeMap<String, BTreeSet<String>>,
    /// Problems found; objects with problems are left out of the layout.
    pub errors: Vec<ConfigError>,
    /// Every project of the tenant, with its connection.
    pub project_connections: BTreeMap<String, String>,
}

impl Layout {
    /// Assembles a tenant's layout from its config files (config projects' files first).
    /// `drivers` maps connection names to driver names, to check pipeline triggers.
    /// Secrets stay encrypted (see [`Layout::build_with_keys`]).
    pub fn build(
        tenant: &TenantDef,
        drivers: &BTreeMap<String, String>,
        files: &[ConfigFile],
    ) -> Layout {
        Layout::build_with_keys(tenant, drivers, files, None)
    }

    /// [`Layout::build`], decrypting each secret with its project's key from `keys`;
    /// a secret that does not decrypt is an error at its stanza.
    pub fn build_with_keys(
        tenant: &TenantDef,
        drivers: &BTreeMap<String, String>,
        files: &[ConfigFile],
        keys: Option<&dyn ProjectKeys>,
    ) -> Layout {
        let projects = tenant.projects();
        let mut layout = Layout {
            tenant: tenant.name.clone(),
            default_parent: tenant.options.default_parent.clone(),
            max_nodes_per_job: tenant.options.max_nodes(),
            max_job_timeout: tenant.options.max_timeout(),
            project_connections: (projects.iter())
                .map(|p| (p.name.clone(), p.connection.clone()))
                .collect(),
            ..Layout::default()
        };
        // Looked up once per file: a scan of the tenant's projects each time
        // made loading quadratic in the number of projects.
        let members: HashSet<(&str, &str)> = (projects.iter())
            .map(|p| (p.connection.as_str(), p.name.as_str()))
            .collect();
        for file in files {
            if !members.contains(&(file.connection.as_str(), file.project.as_str())) {
                let message = format!(
                    "project {} of connection {} is not in tenant {}",
                    file.project, file.connection, tenant.name
                );
                layout.errors.push(ConfigError::in_config(file, 1, message));
                continue;
            }
            layout
                .branches
                .entry(file.project.clone())
                .or_default()
                .insert(file.branch.clone());
            let (objects, errors) = parse_objects(file);
            layout.errors.extend(errors);
            let options = tenant.project_options(&file.connection, &file.project);
            for object in objects.into_iter().filter(|o| options.loads(o.kind())) {
                let object = decrypted(object, keys);
                if let Err(e) = object.and_then(|o| layout.add(o, tenant, drivers)) {
                    layout.errors.push(e);
                }
            }
        }
        layout.check_references();
        layout.attach_snippets(files);
        layout
    }

    /// Quotes each error's file around its line, as Zuul's error reports do.
    fn attach_snippets(&mut self, files: &[ConfigFile]) {
        for error in &mut self.errors {
            let file = files.iter().find(|f| {
                f.path == error.file
                    && Some(&f.project) == error.project.as_ref()
                    && Some(&f.branch) == error.branch.as_ref()
            });
            if let Some(file) = file {
                error.set_snippet(&file.text);
            }
        }
    }

    fn add(
        &mut self,
        object: ConfigObject,
        tenant: &TenantDef,
        drivers: &BTreeMap<String, String>,
    ) -> Result<(), ConfigError> {
        match object {
            ConfigObject::Pipeline(raw) => {
                let source = raw.source.clone();
                let pipeline = raw.check(drivers)?;
                if self.pipeline(&pipeline.name).is_some() {
                    let message = format!("pipeline {} is already defined", pipeline.name);
                    return Err(ConfigError::at(&source, message));
                }
                self.pipelines.push(pipeline);
            }
            ConfigObject::Job(variant) => self.add_job(*variant, tenant)?,
            ConfigObject::Project(project) => self.add_project(project, tenant)?,
            ConfigObject::ProjectTemplate(template) => self.add_template(template)?,
            ConfigObject::Nodeset(nodeset, source) => {
                self.unique("nodeset", &nodeset.name, &source)?;
                self.nodesets.insert(nodeset.name.clone(), nodeset);
            }
            ConfigObject::NodesetAlternatives(name, all, source) => {
                self.unique("nodeset", &name, &source)?;
                self.nodeset_alternatives.insert(name, all);
            }
            ConfigObject::Semaphore(semaphore, source) => {
                self.unique("semaphore", &semaphore.name, &source)?;
                self.semaphores.insert(semaphore.name.clone(), semaphore);
            }
            ConfigObject::Queue(queue, source) => {
                self.unique("queue", &queue.name, &source)?;
                self.queues.insert(queue.name.clone(), queue);
            }
            ConfigObject::Secret(secret) => {
                self.unique("secret", &secret.name, &secret.source)?;
                self.secrets.insert(secret.name.clone(), secret);
            }
        }
        Ok(())
    }

    /// An error when an object of `kind` named `name` is already defined.
    fn unique(&self, kind: &str, name: &str, source: &Source) -> Result<(), ConfigError> {
        let taken = match kind {
            "nodeset" => {
                self.nodesets.contains_key(name) || self.nodeset_alternatives.contains_key(name)
            }
            "semaphore" => self.semaphores.contains_key(name),
            "queue" => self.queues.contains_key(name),
            _ => self.secrets.contains_key(name),
        };
        match taken {
            true => Err(ConfigError::at(
                source,
                format!("{kind} {name} is already defined"),
            )),
            false => Ok(()),
        }
    }

    fn add_template(&mut self, template: ProjectDef) -> Result<(), ConfigError> {
        let name = template.name.clone().unwrap_or_default();
        if let Some(first) = self.templates.get(&name).and_then(|t| t.first()) {
            if first.source.project != template.source.project {
                let message = format!(
                    "project-template {name} is already defined in project {}",
                    first.source.project
                );
                return Err(ConfigError::at(&template.source, message));
            }
        }
        self.templates.entry(name).or_default().push(template);
        Ok(())
    }

    fn add_job(&mut self, variant: JobVariant, tenant: &TenantDef) -> Result<(), ConfigError> {
        let source = &variant.source;
        if let Some(first) = self.jobs.get(&variant.name).and_then(|v| v.first()) {
            // As in Zuul: only the project that first defined a job may add variants,
            // unless one of the two projects shadows the other.
            let prior = first.source.project.clone();
            if prior != source.project {
                let shadows = |p: &str, q: &str| {
                    let options = tenant.project_options(&source.connection, p);
                    options.shadow.iter().any(|s| s == q)
                };
                if shadows(&prior, &source.project) {
                    return Ok(());
                }
                if shadows(&source.project, &prior) {
                    self.jobs.remove(&variant.name);
                } else {
                    let message = format!(
                        "job {} is already defined in project {prior}; only that project may add variants",
                        variant.name
                    );
                    return Err(ConfigError::at(source, message));
                }
            }
        }
        // Most jobs have one variant: room for just that one (a default Vec
        // grows to four, kilobytes of empty variants per job).
        self.jobs
            .entry(variant.name.clone())
            .or_insert_with(|| Vec::with_capacity(1))
            .push(variant);
        Ok(())
    }

    fn add_project(
        &mut self,
        mut project: ProjectDef,
        tenant: &TenantDef,
    ) -> Result<(), ConfigError> {
        let source = &project.source;
        let name = project
            .name
            .clone()
            .unwrap_or_else(|| source.project.clone());
        if !source.trusted && name != source.project {
            let message = format!(
                "project {} may only configure itself, not project {name}",
                source.project
            );
            return Err(ConfigError::at(source, message));
        }
        let is_regex = name.starts_with('^');
        if !is_regex && !self.project_connections.contains_key(&name) {
            let message = format!("project {name} is not in tenant {}", tenant.name);
            return Err(ConfigError::at(source, message));
        }
        project.name = Some(name.clone());
        self.projects.entry(name).or_default().push(project);
        Ok(())
    }

    /// The pipeline with this name.
    pub fn pipeline(&self, name: &str) -> Option<&Pipeline> {
        self.pipelines.iter().find(|p| p.name == name)
    }

    /// The frozen jobs to run for `project` on `branch` in `pipeline`, in order.
    /// An empty list means the project has no jobs there.
    pub fn job_graph(
        &self,
        pipeline: &str,
        project: &str,
        branch: &str,
    ) -> Result<Vec<FrozenJob>, ConfigError> {
        crate::freeze::freeze_job_graph(self, pipeline, project, branch)
    }

    /// Whether `project`'s items on `branch` in `pipeline` fail fast: the first
    /// failing voting job cancels the others and fails the item at once.
    pub fn fail_fast(&self, pipeline: &str, project: &str, branch: &str) -> bool {
        let ppc = self.project_pipeline_config(project, pipeline, branch);
        ppc.fail_fast.unwrap_or(false)
    }

    /// The frozen jobs to run for a change to `files` (`None`: not known) of `project`
    /// on `branch` in `pipeline`; file matchers decide which listed jobs run.
    pub fn job_graph_for_files(
        &self,
        pipeline: &str,
        project: &str,
        branch: &str,
        files: Option<&[String]>,
    ) -> Result<Vec<FrozenJob>, ConfigError> {
        crate::freeze::freeze_job_graph_for_files(self, pipeline, project, branch, files)
    }
}

/// The object with its secret data decrypted, when it is a secret and there are keys.
fn decrypted(
    object: ConfigObject,
    keys: Option<&dyn ProjectKeys>,
) -> Result<ConfigObject, ConfigError> {
    match (object, keys) {
        (ConfigObject::Secret(mut secret), Some(keys)) => {
            let source = &secret.source;
            let name = &secret.name;
            let fail = |why: String| ConfigError::at(source, format!("secret {name}: {why}"));
            let key = keys
                .private_key(&source.connection, &source.project)
                .map_err(|e| fail(format!("no key for project {}: {e}", source.project)))?;
            let data = decrypt_data(&secret.data, &key).map_err(|e| fail(e.to_string()))?;
            secret.data = data;
            Ok(ConfigObject::Secret(secret))
        }
        (object, _) => Ok(object),
    }
}

#[cfg(test)]
mod tests;
