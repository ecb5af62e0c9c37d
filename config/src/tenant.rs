//! The tenant config (Zuul's main.yaml): tenants and the projects they load.

use std::collections::BTreeMap;

use crate::ConfigError;

/// All tenants of a server.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TenantConfig {
    /// Tenants in file order.
    pub tenants: Vec<TenantDef>,
}

/// One tenant: its name and, per connection, the projects it loads.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantDef {
    /// Tenant name.
    pub name: String,
    /// Sources by connection name.
    pub sources: BTreeMap<String, SourceDef>,
}

/// The projects a tenant loads from one connection.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceDef {
    /// Trusted projects: may define pipelines and base jobs; their playbooks run trusted.
    pub config_projects: Vec<String>,
    /// Untrusted projects: define their own jobs and project stanzas.
    pub untrusted_projects: Vec<String>,
}

/// A project of a tenant, as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantProject {
    /// Connection name.
    pub connection: String,
    /// Project name.
    pub name: String,
    /// True for config projects.
    pub trusted: bool,
}

impl TenantConfig {
    /// Parses a tenant config file (a list of `- tenant:` items).
    pub fn parse(file: &str, text: &str) -> Result<TenantConfig, ConfigError> {
        let _ = (file, text);
        todo!("parse tenant config")
    }

    /// The tenant with this name.
    pub fn tenant(&self, name: &str) -> Option<&TenantDef> {
        self.tenants.iter().find(|t| t.name == name)
    }
}

impl TenantDef {
    /// Every project of the tenant, config projects first, in config order.
    pub fn projects(&self) -> Vec<TenantProject> {
        let mut out = Vec::new();
        for (connection, source) in &self.sources {
            for name in &source.config_projects {
                out.push(TenantProject {
                    connection: connection.clone(),
                    name: name.clone(),
                    trusted: true,
                });
            }
        }
        for (connection, source) in &self.sources {
            for name in &source.untrusted_projects {
                out.push(TenantProject {
                    connection: connection.clone(),
                    name: name.clone(),
                    trusted: false,
                });
            }
        }
        out
    }

    /// The project with this name on this connection, if the tenant loads it.
    pub fn project(&self, connection: &str, name: &str) -> Option<TenantProject> {
        self.projects()
            .into_iter()
            .find(|p| p.connection == connection && p.name == name)
    }
}
