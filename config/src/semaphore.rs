//! Semaphores, queues and secrets: the small named objects of project config.

use serde::Serialize;

use crate::job::Source;

/// A semaphore: at most `max` holders at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Semaphore {
    /// Name.
    pub name: String,
    /// Holders allowed at once (Zuul's default: 1).
    #[serde(default = "one")]
    pub max: u32,
}

fn one() -> u32 {
    1
}

/// A shared change queue's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Queue {
    /// Name.
    pub name: String,
    /// One queue per branch instead of one for all branches.
    #[serde(default)]
    pub per_branch: bool,
    /// Whether changes that depend on each other in a cycle may enter.
    #[serde(default)]
    pub allow_circular_dependencies: bool,
    /// Whether changes with the same topic are treated as a cycle.
    #[serde(default)]
    pub dependencies_by_topic: bool,
}

/// A secret: named encrypted data, usable by jobs of the project that defines it.
#[derive(Debug, Clone, PartialEq)]
pub struct Secret {
    /// Name.
    pub name: String,
    /// The data as written (encrypted values stay as their tagged form).
    pub data: serde_json::Value,
    /// Where it was defined.
    pub source: Source,
}

/// A `- secret:` stanza as written.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecret {
    /// Name.
    pub name: String,
    /// The data.
    pub data: serde_yaml::Value,
}
