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

impl Nodeset {
    /// Checks that node names are unique and every group member is a node of the set.
    pub fn check(&self) -> Result<(), String> {
        for (i, node) in self.nodes.iter().enumerate() {
            if self.nodes[..i].iter().any(|n| n.name == node.name) {
                return Err(format!("node `{}` is listed twice", node.name));
            }
        }
        for group in &self.groups {
            if let Some(missing) = group
                .nodes
                .iter()
                .find(|m| !self.nodes.iter().any(|n| n.name == **m))
            {
                return Err(format!(
                    "group `{}` names `{missing}`, which is not a node of the nodeset",
                    group.name
                ));
            }
        }
        Ok(())
    }
}
