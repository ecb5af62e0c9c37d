//! Jobs as written: one variant of a job, before inheritance and freezing.
//!
//! [`RawJob`] is the stanza as serde reads it (see `job/raw.rs`);
//! [`JobVariant::from_raw`] checks it against the rules that need to know
//! where it was written. Branch and file matchers live in `job/matcher.rs`.

pub mod matcher;
mod raw;

use std::ops::Deref;
use std::sync::{Arc, LazyLock};

use serde::Serialize;

pub use matcher::{Matcher, MatcherList};
pub use raw::{NodesetForm, Playbooks, RawJob, Vars};

use crate::nodeset::Nodeset;
use crate::ConfigError;

/// A job's nodeset: by name, written inline, or alternatives tried in order.
#[derive(Debug, Clone, PartialEq)]
pub enum NodesetRef {
    /// A nodeset defined elsewhere in the layout.
    Named(String),
    /// An inline nodeset.
    Inline(Nodeset),
    /// Nodesets to try in order when the first cannot be served.
    Alternatives(Vec<NodesetRef>),
}

/// A playbook as a job names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybookDef {
    /// Path in the repo of the defining project.
    pub path: String,
    /// Semaphores held while this playbook runs.
    pub semaphores: Vec<String>,
    /// True when it runs even if the job is canceled.
    pub cleanup: bool,
}

/// A role from a project's repo (`{zuul: project}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleRef {
    /// Project holding the role.
    pub project: String,
    /// Name to install the role as; the repo's name when unset.
    pub name: Option<String>,
}

/// A project the job checks out, maybe on another branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequiredProject {
    /// Project name.
    pub name: String,
    /// Branch or tag to check out instead of the item's.
    pub override_checkout: Option<String>,
}

/// A job this job waits for; a soft dependency is dropped when that job does not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobDependency {
    /// The job depended on.
    pub name: String,
    /// True: only when that job runs.
    pub soft: bool,
}

/// A secret a job's playbooks get, under a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretUse {
    /// The variable name the playbooks see.
    pub name: String,
    /// The secret object.
    pub secret: String,
    /// Whether parents' playbooks get it too.
    pub pass_to_parent: bool,
}

/// One variant of a job, as one `- job:` stanza (or a project's job entry) defines it.
/// It reads as its attributes (`variant.timeout`): it dereferences to them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobVariant {
    /// Job name.
    pub name: String,
    /// `None`: the default parent (`base`); `Some(None)`: explicitly no parent.
    pub parent: Option<Option<String>>,
    /// What the variant sets. Shared: most project entries only name a job, and
    /// they all hold one empty set instead of a kilobyte each.
    pub attributes: Arc<JobAttributes>,
    /// Where this variant was defined.
    pub source: Source,
}

/// The attributes a job variant sets; `None` means "not set here", so
/// inheritance can tell unset from set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobAttributes {
    /// Free text.
    pub description: Option<String>,
    /// Playbooks run before `run`, in order, parents' first.
    pub pre_run: Option<Vec<PlaybookDef>>,
    /// The main playbooks; a child's replace its parent's.
    pub run: Option<Vec<PlaybookDef>>,
    /// Playbooks run after `run`, in order, children's first.
    pub post_run: Option<Vec<PlaybookDef>>,
    /// Playbooks run at the end even when canceled, children's first.
    pub cleanup_run: Option<Vec<PlaybookDef>>,
    /// Nodeset to run on.
    pub nodeset: Option<NodesetRef>,
    /// Seconds the run phase may take.
    pub timeout: Option<u64>,
    /// Seconds the pre-run phase may take.
    pub pre_timeout: Option<u64>,
    /// Seconds the post-run phase may take.
    pub post_timeout: Option<u64>,
    /// Whether the job's result counts.
    pub voting: Option<bool>,
    /// Job variables (a YAML mapping converted to JSON).
    pub vars: Option<Vars>,
    /// Variables that override every other kind.
    pub extra_vars: Option<Vars>,
    /// Per host name, its variables.
    pub host_vars: Option<Vars>,
    /// Per group name, its variables.
    pub group_vars: Option<Vars>,
    /// Whether the job may only be inherited from, not run.
    pub is_abstract: Option<bool>,
    /// Whether no variant or child may change it.
    pub is_final: Option<bool>,
    /// Whether only its own project may inherit from it.
    pub protected: Option<bool>,
    /// Whether only abstract jobs may inherit from it.
    pub intermediate: Option<bool>,
    /// How many times a build is tried when its pre-run fails.
    pub attempts: Option<u32>,
    /// Roles to install.
    pub roles: Option<Vec<RoleRef>>,
    /// Projects to check out besides the item's.
    pub required_projects: Option<Vec<RequiredProject>>,
    /// Semaphores held while the job runs.
    pub semaphores: Option<Vec<String>>,
    /// Jobs this one waits for (replaces the parent's list).
    pub dependencies: Option<Vec<JobDependency>>,
    /// Artifacts provided (added to the parent's).
    pub provides: Option<Vec<String>>,
    /// Artifacts required (added to the parent's).
    pub requires: Option<Vec<String>>,
    /// Tags (added to the parent's).
    pub tags: Option<Vec<String>>,
    /// Report text on success.
    pub success_message: Option<String>,
    /// Report text on failure.
    pub failure_message: Option<String>,
    /// Whether changes behind wait for this job in a dependent pipeline.
    pub hold_following_changes: Option<bool>,
    /// `golang`, `flat` or `unique`.
    pub workspace_scheme: Option<String>,
    /// `None` in the inner option: `auto`.
    pub deduplicate: Option<Option<bool>>,
    /// Branch to check out in every project that has it.
    pub override_checkout: Option<String>,
    /// Whether the job may only run in post-review pipelines.
    pub post_review: Option<bool>,
    /// Projects allowed to run the job.
    pub allowed_projects: Option<Vec<String>>,
    /// Whether a change to the job's config overrides its file matchers.
    pub match_on_config_updates: Option<bool>,
    /// Explicit branch matcher.
    pub branches: Option<MatcherList>,
    /// Files that make the job run.
    pub files: Option<MatcherList>,
    /// Files that alone do not make the job run.
    pub irrelevant_files: Option<MatcherList>,
    /// Secrets for the playbooks of this variant.
    pub secrets: Option<Vec<SecretUse>>,
    /// Ansible version.
    pub ansible_version: Option<String>,
}

impl Deref for JobVariant {
    type Target = JobAttributes;
    fn deref(&self) -> &JobAttributes {
        &self.attributes
    }
}

/// Where a config object was defined: its file and line. It reads as its file
/// (`source.project`): it dereferences to it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Source {
    /// The file, shared by every object written in it.
    pub file: Arc<SourceFile>,
    /// 1-based line of the object.
    pub line: usize,
}

impl Deref for Source {
    type Target = SourceFile;
    fn deref(&self) -> &SourceFile {
        &self.file
    }
}

/// A config file that objects were read from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceFile {
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
    /// True when the project is a config project.
    pub trusted: bool,
    /// The pragma of the file.
    pub pragma: crate::pragma::Pragma,
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
        if raw.intermediate == Some(true) && raw.is_abstract != Some(true) {
            let message = format!("job {name}: an intermediate job must also be abstract");
            return Err(ConfigError::at(&source, message));
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
            ("abstract", raw.is_abstract.is_some()),
            ("intermediate", raw.intermediate.is_some()),
            ("protected", raw.protected.is_some()),
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
        let at = |m: String| ConfigError::at(&source, format!("job {name}: {m}"));
        if let Some(nodeset) = &raw.nodeset {
            check_nodeset_ref(nodeset).map_err(|m| at(format!("nodeset: {m}")))?;
        }
        check_scheme(raw.workspace_scheme.as_deref()).map_err(at)?;
        let deduplicate = deduplicate(raw.deduplicate.as_ref()).map_err(at)?;
        for (key, vars) in [
            ("host-vars", &raw.host_vars),
            ("group-vars", &raw.group_vars),
        ] {
            if let Some((host, _)) = vars.iter().flatten().find(|(_, v)| !v.is_object()) {
                return Err(at(format!("{key}: the vars of `{host}` must be a mapping")));
            }
        }
        let ansible_version = raw.ansible_version.as_ref().map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let mut semaphores = raw.semaphores.map(|s| s.0);
        if let Some(one) = raw.semaphore {
            semaphores.get_or_insert_with(Vec::new).push(one);
        }
        let list = |l: Option<crate::form::StringList>| l.map(|l| l.0);
        let attributes = JobAttributes {
            description: raw.description,
            pre_run: raw.pre_run.map(|p| p.0),
            run: raw.run.map(|p| p.0),
            post_run: raw.post_run.map(|p| p.0),
            cleanup_run: raw.cleanup_run.map(|p| p.0),
            nodeset: raw.nodeset,
            timeout: raw.timeout,
            pre_timeout: raw.pre_timeout,
            post_timeout: raw.post_timeout,
            voting: raw.voting,
            vars: raw.vars,
            extra_vars: raw.extra_vars,
            host_vars: raw.host_vars,
            group_vars: raw.group_vars,
            is_abstract: raw.is_abstract,
            is_final: raw.is_final,
            protected: raw.protected,
            intermediate: raw.intermediate,
            attempts: raw.attempts,
            roles: raw.roles,
            required_projects: raw.required_projects,
            semaphores,
            dependencies: raw.dependencies.map(|d| d.0),
            provides: list(raw.provides),
            requires: list(raw.requires),
            tags: list(raw.tags),
            success_message: raw.success_message,
            failure_message: raw.failure_message,
            hold_following_changes: raw.hold_following_changes,
            workspace_scheme: raw.workspace_scheme,
            deduplicate,
            override_checkout: raw.override_checkout.or(raw.override_branch),
            post_review: raw.post_review,
            allowed_projects: list(raw.allowed_projects),
            match_on_config_updates: raw.match_on_config_updates,
            branches: raw.branches,
            files: raw.files,
            irrelevant_files: raw.irrelevant_files,
            secrets: raw.secrets,
            ansible_version,
        };
        Ok(JobVariant {
            name,
            parent: None,
            attributes: shared(attributes),
            source,
        })
    }

    /// The parent this variant names, with the default (`base`) applied.
    pub fn parent_name(&self) -> Option<&str> {
        self.parent_or(Some("base"))
    }

    /// The parent this variant names, with the tenant's default parent applied.
    pub fn parent_or<'a>(&'a self, default: Option<&'a str>) -> Option<&'a str> {
        match &self.parent {
            Some(explicit) => explicit.as_deref(),
            None if Some(self.name.as_str()) == default => None,
            None => default,
        }
    }
}

/// The one empty set that every variant setting nothing holds.
static NOTHING_SET: LazyLock<Arc<JobAttributes>> = LazyLock::new(Arc::default);

fn shared(attributes: JobAttributes) -> Arc<JobAttributes> {
    if attributes == JobAttributes::default() {
        NOTHING_SET.clone()
    } else {
        Arc::new(attributes)
    }
}

fn check_nodeset_ref(nodeset: &NodesetRef) -> Result<(), String> {
    match nodeset {
        NodesetRef::Named(_) => Ok(()),
        NodesetRef::Inline(nodeset) => nodeset.check(),
        NodesetRef::Alternatives(all) => all.iter().try_for_each(check_nodeset_ref),
    }
}

fn check_scheme(scheme: Option<&str>) -> Result<(), String> {
    match scheme {
        None | Some("golang" | "flat" | "unique") => Ok(()),
        Some(other) => Err(format!(
            "workspace-scheme `{other}` is not one of golang, flat, unique"
        )),
    }
}

fn deduplicate(value: Option<&serde_json::Value>) -> Result<Option<Option<bool>>, String> {
    match value {
        None => Ok(None),
        Some(serde_json::Value::Bool(b)) => Ok(Some(Some(*b))),
        Some(serde_json::Value::String(s)) if s == "auto" => Ok(Some(None)),
        Some(other) => Err(format!("deduplicate is `auto`, true or false, not {other}")),
    }
}
