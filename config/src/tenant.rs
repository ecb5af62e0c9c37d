//! The tenant config (Zuul's main.yaml): tenants and the projects they load.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use crate::form::{single_entry, OrderedMap};
use crate::stanza;
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
    /// Stops at the first problem, since a server cannot start with a broken tenant file.
    pub fn parse(file: &str, text: &str) -> Result<TenantConfig, ConfigError> {
        let mut tenants: Vec<TenantDef> = Vec::new();
        for item in stanza::parse_list::<RawItem>(file, text)? {
            let stanza::Located { line, item } = item?;
            let RawItem(raw) = item;
            if tenants.iter().any(|t| t.name == raw.name) {
                let message = format!("tenant {} is defined twice", raw.name);
                return Err(ConfigError::in_file(file, line, message));
            }
            let tenant = raw
                .check()
                .map_err(|m| ConfigError::in_file(file, line, m))?;
            tenants.push(tenant);
        }
        Ok(TenantConfig { tenants })
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

/// A top-level item of the tenant file: `tenant: {...}`.
struct RawItem(RawTenant);

impl<'de> Deserialize<'de> for RawItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = RawItem;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a `tenant: {...}` item")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawItem, A::Error> {
                let (kind, tenant) = single_entry::<A, Option<RawTenant>>(map, "item")?;
                match (kind.as_str(), tenant) {
                    ("tenant", Some(tenant)) => Ok(RawItem(tenant)),
                    ("tenant", None) => Err(de::Error::custom("tenant: empty")),
                    (later, _) if LATER_KINDS.contains(&later) => Err(de::Error::custom(format!(
                        "`{later}` items are not supported yet"
                    ))),
                    (other, _) => Err(de::Error::custom(format!(
                        "unknown item `{other}`, expected tenant"
                    ))),
                }
            }
        }
        deserializer.deserialize_map(ItemVisitor)
    }
}

/// Tenant file items Zuul knows that we do not handle yet.
const LATER_KINDS: &[&str] = &[
    "admin-rule",
    "authorization-rule",
    "api-root",
    "global-semaphore",
];

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    name: String,
    #[serde(default)]
    source: OrderedMap<RawSource>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSource {
    #[serde(default)]
    config_projects: Vec<ProjectName>,
    #[serde(default)]
    untrusted_projects: Vec<ProjectName>,
}

/// A project entry: a name, or `{name: {}}` (options are not supported yet).
struct ProjectName(String);

impl RawTenant {
    fn check(self) -> Result<TenantDef, String> {
        let mut sources = BTreeMap::new();
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for (connection, source) in &self.source.0 {
            let listed = source
                .config_projects
                .iter()
                .chain(&source.untrusted_projects);
            for project in listed {
                if seen.contains(&(connection, &project.0)) {
                    return Err(format!(
                        "tenant {}: project {} of {connection} is listed twice",
                        self.name, project.0
                    ));
                }
                seen.push((connection, &project.0));
            }
            let names = |list: &[ProjectName]| list.iter().map(|p| p.0.clone()).collect();
            let def = SourceDef {
                config_projects: names(&source.config_projects),
                untrusted_projects: names(&source.untrusted_projects),
            };
            sources.insert(connection.clone(), def);
        }
        Ok(TenantDef {
            name: self.name.clone(),
            sources,
        })
    }
}

impl<'de> Deserialize<'de> for ProjectName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = ProjectName;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a project name or a {name: {}} mapping")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ProjectName, E> {
                Ok(ProjectName(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ProjectName, A::Error> {
                let (name, options) =
                    single_entry::<A, Option<OrderedMap<de::IgnoredAny>>>(map, "project")?;
                match options.unwrap_or_default().0.first() {
                    None => Ok(ProjectName(name)),
                    Some((key, _)) => Err(de::Error::custom(format!(
                        "project {name}: option `{key}` is not supported yet"
                    ))),
                }
            }
        }
        deserializer.deserialize_any(NameVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIN: &str = "\
- tenant:
    name: example
    source:
      local:
        config-projects:
          - config
        untrusted-projects:
          - demo
          - other: {}
";

    #[test]
    fn tenants_list_their_projects_config_projects_first() {
        let config = TenantConfig::parse("main.yaml", MAIN).unwrap();
        let tenant = config.tenant("example").unwrap();
        let names: Vec<_> = tenant
            .projects()
            .into_iter()
            .map(|p| (p.name, p.trusted))
            .collect();
        let expected = [("config", true), ("demo", false), ("other", false)];
        assert_eq!(names, expected.map(|(n, t)| (n.to_string(), t)));
        assert!(tenant.project("local", "demo").is_some());
        assert!(config.tenant("nope").is_none());
    }

    #[test]
    fn an_unknown_key_is_named_with_file_and_line() {
        let text = MAIN.replace("untrusted-projects", "untrusted-project");
        let err = TenantConfig::parse("main.yaml", &text).unwrap_err();
        assert_eq!((err.file.as_str(), err.line), ("main.yaml", 7));
        assert!(err.message.contains("`untrusted-project`"), "{err}");
    }

    #[test]
    fn a_wrong_type_is_an_error_at_its_line() {
        let text = MAIN.replace("name: example", "name: [example]");
        let err = TenantConfig::parse("main.yaml", &text).unwrap_err();
        assert_eq!(err.line, 2, "{err}");
    }

    #[test]
    fn project_options_are_not_supported_yet() {
        let text = MAIN.replace("other: {}", "other: {include: [job]}");
        let err = TenantConfig::parse("main.yaml", &text).unwrap_err();
        assert!(
            err.message.contains("`include` is not supported yet"),
            "{err}"
        );
    }

    #[test]
    fn a_duplicate_tenant_name_is_an_error_at_the_second() {
        let text = format!("{MAIN}{MAIN}");
        let err = TenantConfig::parse("main.yaml", &text).unwrap_err();
        assert_eq!(err.line, 10, "{err}");
        assert!(err.message.contains("defined twice"), "{err}");
    }

    #[test]
    fn a_project_listed_twice_is_an_error() {
        let text = MAIN.replace("- demo", "- demo\n          - config");
        let err = TenantConfig::parse("main.yaml", &text).unwrap_err();
        assert!(err.message.contains("listed twice"), "{err}");
    }

    #[test]
    fn other_zuul_items_are_not_supported_yet() {
        let err = TenantConfig::parse("main.yaml", "- admin-rule: {name: x}\n").unwrap_err();
        assert!(err.message.contains("not supported yet"), "{err}");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let inputs = [
            "[",
            "- tenant:",
            "- tenant: {name: a, source: {local: 3}}",
            "- {}",
            "- 7",
            "a: b",
            "- tenant: {name: a}\n  - x",
        ];
        for text in inputs {
            assert!(TenantConfig::parse("main.yaml", text).is_err(), "{text}");
        }
    }
}
