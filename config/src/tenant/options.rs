//! Tenant and per-project options of the tenant config, with Zuul's defaults.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::form::{OrderedMap, StringList};
use crate::semaphore::Semaphore;

/// The kinds of config objects a project's config may hold.
pub const OBJECT_KINDS: &[&str] = &[
    "pipeline",
    "job",
    "semaphore",
    "project",
    "project-template",
    "nodeset",
    "secret",
    "queue",
    "pragma",
];

/// A tenant's settings beyond its projects.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TenantOptions {
    /// Most nodes a job may ask for (Zuul's default: 5).
    pub max_nodes_per_job: Option<u32>,
    /// Longest timeout a job may set, in seconds (Zuul's default: 10800).
    pub max_job_timeout: Option<u64>,
    /// Most dependencies a change may have.
    pub max_dependencies: Option<u32>,
    /// Most changes a pipeline may hold.
    pub max_changes_per_pipeline: Option<u32>,
    /// Ignore unprotected branches of every project.
    pub exclude_unprotected_branches: bool,
    /// Ignore locked branches of every project.
    pub exclude_locked_branches: bool,
    /// The parent of jobs that name none (`base` when unset).
    pub default_parent: Option<String>,
    /// Ansible version when a job sets none.
    pub default_ansible_version: Option<String>,
    /// Connections pipelines may trigger on; `None`: all.
    pub allowed_triggers: Option<Vec<String>>,
    /// Connections pipelines may report to; `None`: all.
    pub allowed_reporters: Option<Vec<String>>,
    /// Label regexes nodesets may use; empty: all.
    pub allowed_labels: Vec<String>,
    /// Label regexes nodesets may not use.
    pub disallowed_labels: Vec<String>,
    /// Admin rule names.
    pub admin_rules: Vec<String>,
    /// Access rule names.
    pub access_rules: Vec<String>,
    /// Authentication realm of the tenant.
    pub authentication_realm: Option<String>,
    /// Global semaphores the tenant uses.
    pub semaphores: Vec<String>,
    /// Base URL of the tenant's web pages.
    pub web_root: Option<String>,
    /// Whether reads need no authentication.
    pub anonymous_read_access: bool,
    /// Whether reports link the build page.
    pub report_build_page: bool,
}

impl TenantOptions {
    /// Most nodes per job, with Zuul's default.
    pub fn max_nodes(&self) -> u32 {
        self.max_nodes_per_job.unwrap_or(5)
    }

    /// Longest job timeout, with Zuul's default.
    pub fn max_timeout(&self) -> u64 {
        self.max_job_timeout.unwrap_or(10800)
    }
}

/// How a tenant loads one project.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProjectOptions {
    /// Object kinds loaded from the project; `None`: all.
    pub include: Option<BTreeSet<String>>,
    /// Object kinds not loaded.
    pub exclude: BTreeSet<String>,
    /// Projects whose job definitions this one's take precedence over.
    pub shadow: Vec<String>,
    /// Branch a config project's config is read from.
    pub load_branch: Option<String>,
    /// More config files or folders to read.
    pub extra_config_paths: Vec<String>,
    /// Ignore the project's unprotected branches.
    pub exclude_unprotected_branches: Option<bool>,
    /// Ignore the project's locked branches.
    pub exclude_locked_branches: Option<bool>,
    /// Branch regexes to load; empty: all.
    pub include_branches: Vec<String>,
    /// Branch regexes not to load.
    pub exclude_branches: Vec<String>,
    /// Branch regexes whose config is only read dynamically.
    pub always_dynamic_branches: Vec<String>,
    /// Whether the project's objects get implied branch matchers.
    pub implied_branch_matchers: Option<bool>,
    /// Whether a config project may define base jobs.
    pub allow_base_jobs: Option<bool>,
}

impl ProjectOptions {
    /// True when objects of `kind` are loaded from the project.
    pub fn loads(&self, kind: &str) -> bool {
        self.include.as_ref().is_none_or(|i| i.contains(kind)) && !self.exclude.contains(kind)
    }
}

/// A project's options as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawProjectOptions {
    include: Option<StringList>,
    #[serde(default)]
    exclude: StringList,
    #[serde(default)]
    shadow: StringList,
    load_branch: Option<String>,
    #[serde(default)]
    extra_config_paths: StringList,
    exclude_unprotected_branches: Option<bool>,
    exclude_locked_branches: Option<bool>,
    #[serde(default)]
    include_branches: StringList,
    #[serde(default)]
    exclude_branches: StringList,
    #[serde(default)]
    always_dynamic_branches: StringList,
    implied_branch_matchers: Option<bool>,
    allow_base_jobs: Option<bool>,
    /// Only in project groups.
    #[serde(default)]
    pub projects: Vec<String>,
}

impl RawProjectOptions {
    /// Checks object kinds and turns the options into their model.
    pub fn check(self) -> Result<ProjectOptions, String> {
        let kinds = |list: StringList| -> Result<BTreeSet<String>, String> {
            match list.0.iter().find(|k| !OBJECT_KINDS.contains(&k.as_str())) {
                Some(bad) => Err(format!(
                    "`{bad}` is not an object kind ({})",
                    OBJECT_KINDS.join(", ")
                )),
                None => Ok(list.0.into_iter().collect()),
            }
        };
        Ok(ProjectOptions {
            include: self.include.map(kinds).transpose()?,
            exclude: kinds(self.exclude)?,
            shadow: self.shadow.0,
            load_branch: self.load_branch,
            extra_config_paths: self.extra_config_paths.0,
            exclude_unprotected_branches: self.exclude_unprotected_branches,
            exclude_locked_branches: self.exclude_locked_branches,
            include_branches: self.include_branches.0,
            exclude_branches: self.exclude_branches.0,
            always_dynamic_branches: self.always_dynamic_branches.0,
            implied_branch_matchers: self.implied_branch_matchers,
            allow_base_jobs: self.allow_base_jobs,
        })
    }
}

/// A `tenant:` item as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawTenant {
    /// Tenant name.
    pub name: String,
    /// Projects per connection.
    #[serde(default)]
    pub source: OrderedMap<super::RawSource>,
    max_nodes_per_job: Option<u32>,
    max_job_timeout: Option<u64>,
    max_dependencies: Option<u32>,
    max_changes_per_pipeline: Option<u32>,
    #[serde(default)]
    exclude_unprotected_branches: bool,
    #[serde(default)]
    exclude_locked_branches: bool,
    default_parent: Option<String>,
    default_ansible_version: Option<serde_json::Value>,
    allowed_triggers: Option<StringList>,
    allowed_reporters: Option<StringList>,
    #[serde(default)]
    allowed_labels: StringList,
    #[serde(default)]
    disallowed_labels: StringList,
    #[serde(default)]
    admin_rules: StringList,
    #[serde(default)]
    access_rules: StringList,
    authentication_realm: Option<String>,
    #[serde(default)]
    semaphores: StringList,
    web_root: Option<String>,
    anonymous_read_access: Option<bool>,
    report_build_page: Option<bool>,
}

impl RawTenant {
    /// The tenant's options, with Zuul's defaults.
    pub fn options(&mut self) -> TenantOptions {
        let raw = self;
        TenantOptions {
            max_nodes_per_job: raw.max_nodes_per_job,
            max_job_timeout: raw.max_job_timeout,
            max_dependencies: raw.max_dependencies,
            max_changes_per_pipeline: raw.max_changes_per_pipeline,
            exclude_unprotected_branches: raw.exclude_unprotected_branches,
            exclude_locked_branches: raw.exclude_locked_branches,
            default_parent: raw.default_parent.take(),
            default_ansible_version: raw.default_ansible_version.take().map(|v| match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            }),
            allowed_triggers: raw.allowed_triggers.take().map(|l| l.0),
            allowed_reporters: raw.allowed_reporters.take().map(|l| l.0),
            allowed_labels: std::mem::take(&mut raw.allowed_labels.0),
            disallowed_labels: std::mem::take(&mut raw.disallowed_labels.0),
            admin_rules: std::mem::take(&mut raw.admin_rules.0),
            access_rules: std::mem::take(&mut raw.access_rules.0),
            authentication_realm: raw.authentication_realm.take(),
            semaphores: std::mem::take(&mut raw.semaphores.0),
            web_root: raw.web_root.take(),
            anonymous_read_access: raw.anonymous_read_access.unwrap_or(true),
            report_build_page: raw.report_build_page.unwrap_or(false),
        }
    }
}

/// A tenant-file rule (`admin-rule`, `authorization-rule`) or global semaphore, kept as written.
#[derive(Debug, Clone, PartialEq)]
pub enum TopLevel {
    /// `- admin-rule:` / `- authorization-rule:` with its conditions.
    Rule {
        /// Which kind of rule.
        kind: String,
        /// Rule name.
        name: String,
        /// Conditions as written.
        conditions: serde_json::Value,
    },
    /// `- global-semaphore:`
    GlobalSemaphore(Semaphore),
    /// `- api-root:` settings.
    ApiRoot(serde_json::Value),
}
