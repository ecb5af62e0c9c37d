//! The tenant config (Zuul's main.yaml): tenants, the projects they load and
//! how (`tenant/options.rs`), and the file's rules and global semaphores.

mod options;

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use crate::form::OrderedMap;
use crate::semaphore::Semaphore;
use crate::stanza;
use crate::ConfigError;

pub use options::{ProjectOptions, TenantOptions, TopLevel, OBJECT_KINDS};
use options::{RawProjectOptions, RawTenant};

/// All tenants of a server.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TenantConfig {
    /// Tenants in file order.
    pub tenants: Vec<TenantDef>,
    /// Admin and authorization rules, global semaphores and api-root, in file order.
    pub items: Vec<TopLevel>,
}

/// One tenant: its name and, per connection, the projects it loads.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TenantDef {
    /// Tenant name.
    pub name: String,
    /// Sources by connection name.
    pub sources: BTreeMap<String, SourceDef>,
    /// The tenant's settings.
    pub options: TenantOptions,
}

/// The projects a tenant loads from one connection.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceDef {
    /// Trusted projects: may define pipelines and base jobs; their playbooks run trusted.
    pub config_projects: Vec<String>,
    /// Untrusted projects: define their own jobs and project stanzas.
    pub untrusted_projects: Vec<String>,
    /// How each project is loaded, for projects listed with options.
    pub options: BTreeMap<String, ProjectOptions>,
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
    /// Stops at the first problem, since a server cannot start with a broken tenant file.
    pub fn parse(file: &str, text: &str) -> Result<TenantConfig, ConfigError> {
        let mut tenants: Vec<TenantDef> = Vec::new();
        let mut items = Vec::new();
        for item in stanza::parse_list::<RawItem>(file, text)? {
            let stanza::Located { line, item } = item?;
            let raw = match item {
                RawItem::Tenant(raw) => raw,
                RawItem::Other(other) => {
                    items.push(other);
                    continue;
                }
            };
            if tenants.iter().any(|t| t.name == raw.name) {
                let message = format!("tenant {} is defined twice", raw.name);
                return Err(ConfigError::in_file(file, line, message));
            }
            let tenant = raw
                .check()
                .map_err(|m| ConfigError::in_file(file, line, m))?;
            tenants.push(tenant);
        }
        Ok(TenantConfig { tenants, items })
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

    /// How the tenant loads a project (defaults when listed without options).
    pub fn project_options(&self, connection: &str, name: &str) -> ProjectOptions {
        let source = self.sources.get(connection);
        let options = source.and_then(|s| s.options.get(name));
        options.cloned().unwrap_or_default()
    }

    /// The project with this name on this connection, if the tenant loads it.
    pub fn project(&self, connection: &str, name: &str) -> Option<TenantProject> {
        self.projects()
            .into_iter()
            .find(|p| p.connection == connection && p.name == name)
    }
}

/// A top-level item of the tenant file.
enum RawItem {
    Tenant(Box<RawTenant>),
    Other(TopLevel),
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    #[serde(default)]
    conditions: serde_yaml::Value,
}

impl<'de> Deserialize<'de> for RawItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = RawItem;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a `tenant: {...}` item")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawItem, A::Error> {
                let Some(kind) = map.next_key::<String>()? else {
                    return Err(de::Error::custom("item: empty mapping"));
                };
                // The tenant is read straight from the text so its errors keep their lines.
                let item = match kind.as_str() {
                    "tenant" => match map.next_value::<Option<RawTenant>>()? {
                        Some(tenant) => RawItem::Tenant(Box::new(tenant)),
                        None => return Err(de::Error::custom("tenant: empty")),
                    },
                    _ => top_level(&kind, map.next_value()?).map_err(de::Error::custom)?,
                };
                if let Some(other) = map.next_key::<String>()? {
                    return Err(de::Error::custom(format!(
                        "item: expected a single `name: ...` entry, found `{kind}` and `{other}`"
                    )));
                }
                Ok(item)
            }
        }
        deserializer.deserialize_map(ItemVisitor)
    }
}

fn top_level(kind: &str, value: serde_yaml::Value) -> Result<RawItem, String> {
    let json = |v: &serde_yaml::Value| serde_json::to_value(v).map_err(|e| e.to_string());
    match kind {
        "admin-rule" | "authorization-rule" => {
            let rule: RawRule = serde_yaml::from_value(value).map_err(|e| format!("{kind}: {e}"))?;
            Ok(RawItem::Other(TopLevel::Rule {
                kind: kind.to_string(),
                name: rule.name,
                conditions: json(&rule.conditions)?,
            }))
        }
        "global-semaphore" => serde_yaml::from_value::<Semaphore>(value)
            .map(|s| RawItem::Other(TopLevel::GlobalSemaphore(s)))
            .map_err(|e| format!("global-semaphore: {e}")),
        "api-root" => Ok(RawItem::Other(TopLevel::ApiRoot(json(&value)?))),
        other => Err(format!(
            "unknown item `{other}`, expected tenant, admin-rule, authorization-rule, global-semaphore or api-root"
        )),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawSource {
    #[serde(default)]
    config_projects: Vec<ProjectEntry>,
    #[serde(default)]
    untrusted_projects: Vec<ProjectEntry>,
}

/// A project entry: a name, `{name: {options}}`, or a group `{projects: [...], options}`.
struct ProjectEntry {
    names: Vec<String>,
    options: ProjectOptions,
    has_options: bool,
}

impl RawTenant {
    fn check(mut self) -> Result<TenantDef, String> {
        let options = self.options();
        let mut sources = BTreeMap::new();
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for (connection, source) in &self.source.0 {
            let listed = source
                .config_projects
                .iter()
                .chain(&source.untrusted_projects);
            for name in listed.flat_map(|entry| &entry.names) {
                if seen.contains(&(connection, name)) {
                    return Err(format!(
                        "tenant {}: project {name} of {connection} is listed twice",
                        self.name
                    ));
                }
                seen.push((connection, name));
            }
            let mut def = SourceDef::default();
            for (list, entries) in [
                (&mut def.config_projects, &source.config_projects),
                (&mut def.untrusted_projects, &source.untrusted_projects),
            ] {
                for entry in entries {
                    list.extend(entry.names.iter().cloned());
                    for name in entry.names.iter().filter(|_| entry.has_options) {
                        def.options.insert(name.clone(), entry.options.clone());
                    }
                }
            }
            sources.insert(connection.clone(), def);
        }
        Ok(TenantDef {
            name: self.name.clone(),
            sources,
            options,
        })
    }
}

impl<'de> Deserialize<'de> for ProjectEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = ProjectEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a project name, a {name: {options}} mapping, or a project group")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ProjectEntry, E> {
                Ok(ProjectEntry {
                    names: vec![v.to_string()],
                    options: ProjectOptions::default(),
                    has_options: false,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ProjectEntry, A::Error> {
                let entry: OrderedMap<serde_yaml::Value> =
                    Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))?;
                project_entry(entry).map_err(de::Error::custom)
            }
        }
        deserializer.deserialize_any(EntryVisitor)
    }
}

/// A mapping entry: `{name: {options}}`, or a group when it has `projects`.
fn project_entry(entry: OrderedMap<serde_yaml::Value>) -> Result<ProjectEntry, String> {
    let is_group = entry.0.iter().any(|(k, _)| k == "projects");
    let (names, raw) = if is_group {
        let mapping = serde_yaml::Mapping::from_iter(
            entry
                .0
                .into_iter()
                .map(|(k, v)| (serde_yaml::Value::String(k), v)),
        );
        let raw: RawProjectOptions = serde_yaml::from_value(serde_yaml::Value::Mapping(mapping))
            .map_err(|e| format!("project group: {e}"))?;
        (raw.projects.clone(), raw)
    } else {
        let mut pairs = entry.0.into_iter();
        let (Some((name, value)), None) = (pairs.next(), pairs.next()) else {
            return Err("project: expected a single `name: {options}` entry".into());
        };
        let raw: RawProjectOptions = match value {
            serde_yaml::Value::Null => RawProjectOptions::default(),
            value => serde_yaml::from_value(value).map_err(|e| format!("project {name}: {e}"))?,
        };
        if !raw.projects.is_empty() {
            return Err(format!(
                "project {name}: `projects` belongs to project groups"
            ));
        }
        (vec![name], raw)
    };
    Ok(ProjectEntry {
        names,
        options: raw.check()?,
        has_options: true,
    })
}

#[cfg(test)]
mod tests;
