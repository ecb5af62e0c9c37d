//! Nodesets: the nodes a job runs on.

use serde::{Deserialize, Serialize};

/// A named (or inline) set of nodes and groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Nodeset {
    /// Name; empty for an inline or the empty nodeset.
    #[serde(default)]
    pub name: String,
    /// Nodes in order.
    #[serde(default)]
    pub nodes: Vec<Node>,
    /// Groups of nodes.
    #[serde(default)]
    pub groups: Vec<Group>,
}

/// One node of a nodeset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Inventory host name.
    pub name: String,
    /// Label the node provider serves it from.
    pub label: String,
}

/// An inventory group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Group name.
    pub name: String,
    /// Names of the member nodes.
    pub nodes: Vec<String>,
}
