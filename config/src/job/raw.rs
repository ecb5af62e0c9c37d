//! The `- job:` stanza as serde reads it, and the YAML shapes of its attributes.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::matcher::MatcherList;
use super::{JobDependency, NodesetRef, PlaybookDef, RequiredProject, RoleRef, SecretUse};
use crate::form::{explicit_null, StringList};
use crate::nodeset::Nodeset;

/// A JSON object, as vars are kept.
pub type Vars = serde_json::Map<String, serde_json::Value>;

/// A `- job:` stanza, or the attributes of a project's job entry, as written.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawJob {
    /// Job name (absent in a project's job entry, where the key names the job).
    pub name: Option<String>,
    /// Absent, null, or a parent job name.
    #[serde(default, deserialize_with = "explicit_null")]
    pub parent: Option<Option<String>>,
    /// Free text.
    pub description: Option<String>,
    /// Free text per variant.
    pub variant_description: Option<String>,
    /// Main playbooks.
    pub run: Option<Playbooks>,
    /// Pre-run playbooks.
    pub pre_run: Option<Playbooks>,
    /// Post-run playbooks.
    pub post_run: Option<Playbooks>,
    /// Cleanup playbooks (deprecated in Zuul for `post-run` with `cleanup: true`).
    pub cleanup_run: Option<Playbooks>,
    /// Nodeset by name, inline, or alternatives.
    pub nodeset: Option<NodesetRef>,
    /// Seconds for the run phase.
    pub timeout: Option<u64>,
    /// Seconds for the pre-run phase.
    pub pre_timeout: Option<u64>,
    /// Seconds for the post-run phase.
    pub post_timeout: Option<u64>,
    /// Whether the result counts.
    pub voting: Option<bool>,
    /// Tries on pre-run failure.
    pub attempts: Option<u32>,
    /// Job variables.
    pub vars: Option<Vars>,
    /// Variables with the highest precedence.
    pub extra_vars: Option<Vars>,
    /// Per host, variables.
    pub host_vars: Option<serde_json::Map<String, serde_json::Value>>,
    /// Per group, variables.
    pub group_vars: Option<serde_json::Map<String, serde_json::Value>>,
    /// Inherit-only job.
    #[serde(rename = "abstract")]
    pub is_abstract: Option<bool>,
    /// No variant may change the job.
    #[serde(rename = "final")]
    pub is_final: Option<bool>,
    /// Only the defining project may inherit.
    pub protected: Option<bool>,
    /// Only abstract jobs may inherit.
    pub intermediate: Option<bool>,
    /// Roles to put on the role path.
    pub roles: Option<Vec<RoleRef>>,
    /// Projects to check out.
    pub required_projects: Option<Vec<RequiredProject>>,
    /// Semaphores held while the job runs.
    pub semaphores: Option<StringList>,
    /// The older single-semaphore form.
    pub semaphore: Option<String>,
    /// Jobs this job waits for.
    pub dependencies: Option<Dependencies>,
    /// Artifacts this job provides.
    pub provides: Option<StringList>,
    /// Artifacts this job needs from changes ahead.
    pub requires: Option<StringList>,
    /// Free tags.
    pub tags: Option<StringList>,
    /// Report text on success.
    pub success_message: Option<String>,
    /// Report text on failure.
    pub failure_message: Option<String>,
    /// Hold changes behind in a dependent pipeline until this job finishes.
    pub hold_following_changes: Option<bool>,
    /// `golang`, `flat` or `unique`.
    pub workspace_scheme: Option<String>,
    /// `auto`, true or false.
    pub deduplicate: Option<serde_json::Value>,
    /// Branch to check out in every project.
    pub override_checkout: Option<String>,
    /// The older name of `override-checkout`.
    pub override_branch: Option<String>,
    /// Only runs in post-review pipelines.
    pub post_review: Option<bool>,
    /// Projects that may run the job.
    pub allowed_projects: Option<StringList>,
    /// Whether a change to the job's config overrides file matchers.
    pub match_on_config_updates: Option<bool>,
    /// Branch regexes this variant applies to.
    pub branches: Option<MatcherList>,
    /// Files whose change makes the job run.
    pub files: Option<MatcherList>,
    /// Files whose change alone does not make the job run.
    pub irrelevant_files: Option<MatcherList>,
    /// Secrets the playbooks get.
    pub secrets: Option<Vec<SecretUse>>,
    /// Ansible version to use.
    pub ansible_version: Option<serde_json::Value>,
}

/// Playbooks: a path, a `{name, semaphores, cleanup}` mapping, or a list of them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Playbooks(pub Vec<PlaybookDef>);

impl<'de> Deserialize<'de> for Playbooks {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PlaybooksVisitor;
        impl<'de> Visitor<'de> for PlaybooksVisitor {
            type Value = Playbooks;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a playbook path, a {name: path} mapping, or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Playbooks, E> {
                Ok(Playbooks(vec![PlaybookDef::path(v)]))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Playbooks, A::Error> {
                let one = PlaybookDef::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Playbooks(vec![one]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Playbooks, A::Error> {
                let mut out = Vec::new();
                while let Some(one) = seq.next_element::<PlaybookDef>()? {
                    out.push(one);
                }
                Ok(Playbooks(out))
            }
        }
        deserializer.deserialize_any(PlaybooksVisitor)
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaybookForm {
    name: String,
    #[serde(default)]
    semaphores: StringList,
    #[serde(default)]
    semaphore: Option<String>,
    #[serde(default)]
    cleanup: bool,
}

impl PlaybookDef {
    fn path(path: &str) -> PlaybookDef {
        PlaybookDef {
            path: path.to_string(),
            semaphores: Vec::new(),
            cleanup: false,
        }
    }
}

impl<'de> Deserialize<'de> for PlaybookDef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = PlaybookDef;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a playbook path or a {name: path} mapping")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PlaybookDef, E> {
                Ok(PlaybookDef::path(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PlaybookDef, A::Error> {
                let form = PlaybookForm::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let mut semaphores = form.semaphores.0;
                semaphores.extend(form.semaphore);
                Ok(PlaybookDef {
                    path: form.name,
                    semaphores,
                    cleanup: form.cleanup,
                })
            }
        }
        deserializer.deserialize_any(ItemVisitor)
    }
}

/// The `nodeset:` mapping form: nodes and groups, or alternatives.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodesetForm {
    /// Name (objects only).
    #[serde(default)]
    pub name: String,
    /// Nodes.
    #[serde(default)]
    pub nodes: Vec<crate::nodeset::Node>,
    /// Groups.
    #[serde(default)]
    pub groups: Vec<crate::nodeset::Group>,
    /// Nodesets to try in order.
    pub alternatives: Option<Vec<NodesetRef>>,
}

impl NodesetForm {
    /// The nodeset, or its alternatives; both at once is an error.
    pub fn into_ref(self) -> Result<NodesetRef, String> {
        match self.alternatives {
            Some(_) if !self.nodes.is_empty() || !self.groups.is_empty() => {
                Err("a nodeset has either nodes and groups or alternatives, not both".into())
            }
            Some(alternatives) if alternatives.is_empty() => {
                Err("nodeset alternatives may not be empty".into())
            }
            Some(alternatives) => Ok(NodesetRef::Alternatives(alternatives)),
            None => Ok(NodesetRef::Inline(Nodeset {
                name: self.name,
                nodes: self.nodes,
                groups: self.groups,
            })),
        }
    }
}

impl<'de> Deserialize<'de> for NodesetRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RefVisitor;
        impl<'de> Visitor<'de> for RefVisitor {
            type Value = NodesetRef;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a nodeset name or an inline nodeset")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<NodesetRef, E> {
                Ok(NodesetRef::Named(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<NodesetRef, A::Error> {
                let form = NodesetForm::deserialize(de::value::MapAccessDeserializer::new(map))?;
                form.into_ref().map_err(de::Error::custom)
            }
        }
        deserializer.deserialize_any(RefVisitor)
    }
}

/// Name-or-mapping shapes: a string is the name, a mapping is read as `T`.
macro_rules! name_or_form {
    ($ty:ty, $form:ty, $what:literal, |$name:ident| $from_name:expr, |$f:ident| $from_form:expr) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_str<E: de::Error>(self, $name: &str) -> Result<$ty, E> {
                        Ok($from_name)
                    }
                    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<$ty, A::Error> {
                        let $f = <$form>::deserialize(de::value::MapAccessDeserializer::new(map))?;
                        $from_form.map_err(de::Error::custom)
                    }
                }
                deserializer.deserialize_any(V)
            }
        }
    };
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RequiredForm {
    name: String,
    override_checkout: Option<String>,
    override_branch: Option<String>,
}

name_or_form!(
    RequiredProject,
    RequiredForm,
    "a project name or {name, override-checkout}",
    |v| RequiredProject {
        name: v.to_string(),
        override_checkout: None
    },
    |f| Ok::<_, String>(RequiredProject {
        name: f.name,
        override_checkout: f.override_checkout.or(f.override_branch)
    })
);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DependencyForm {
    name: String,
    #[serde(default)]
    soft: bool,
}

name_or_form!(
    JobDependency,
    DependencyForm,
    "a job name or {name, soft}",
    |v| JobDependency {
        name: v.to_string(),
        soft: false
    },
    |f| Ok::<_, String>(JobDependency {
        name: f.name,
        soft: f.soft
    })
);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleForm {
    zuul: Option<String>,
    galaxy: Option<String>,
    name: Option<String>,
}

name_or_form!(
    RoleRef,
    RoleForm,
    "a {zuul: project} role",
    |v| RoleRef {
        project: v.to_string(),
        name: None
    },
    |f| match (f.zuul, f.galaxy) {
        (Some(project), None) => Ok(RoleRef {
            project,
            name: f.name
        }),
        (None, Some(_)) => Err("galaxy roles are not supported, only `zuul:` roles".to_string()),
        _ => Err("a role names exactly one of `zuul` or `galaxy`".to_string()),
    }
);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct SecretForm {
    name: String,
    secret: Option<String>,
    #[serde(default)]
    pass_to_parent: bool,
}

name_or_form!(
    SecretUse,
    SecretForm,
    "a secret name or {name, secret, pass-to-parent}",
    |v| SecretUse {
        name: v.to_string(),
        secret: v.to_string(),
        pass_to_parent: false
    },
    |f| Ok::<_, String>(SecretUse {
        secret: f.secret.unwrap_or_else(|| f.name.clone()),
        name: f.name,
        pass_to_parent: f.pass_to_parent
    })
);

/// Dependencies: a job name, `{name, soft}`, or a list of them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dependencies(pub Vec<JobDependency>);

impl<'de> Deserialize<'de> for Dependencies {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Dependencies;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a job name, a {name, soft} mapping, or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dependencies, E> {
                Ok(Dependencies(vec![JobDependency {
                    name: v.to_string(),
                    soft: false,
                }]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Dependencies, A::Error> {
                let mut out = Vec::new();
                while let Some(one) = seq.next_element::<JobDependency>()? {
                    out.push(one);
                }
                Ok(Dependencies(out))
            }
        }
        deserializer.deserialize_any(V)
    }
}
