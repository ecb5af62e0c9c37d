//! Jobs as written: one variant of a job, before inheritance and freezing.

use crate::nodeset::Nodeset;

/// A job's nodeset: by name or written inline.
#[derive(Debug, Clone, PartialEq)]
pub enum NodesetRef {
    /// A nodeset defined elsewhere in the layout.
    Named(String),
    /// An inline nodeset.
    Inline(Nodeset),
}

/// One variant of a job, as one `- job:` stanza (or a project's job entry) defines it.
/// `None` means "not set here", so inheritance can tell unset from set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobVariant {
    /// Job name.
    pub name: String,
    /// `None`: the default parent (`base`); `Some(None)`: explicitly no parent.
    pub parent: Option<Option<String>>,
    /// Free text.
    pub description: Option<String>,
    /// Playbooks run before `run`, in order, parents' first.
    pub pre_run: Option<Vec<String>>,
    /// The main playbooks; a child's replace its parent's.
    pub run: Option<Vec<String>>,
    /// Playbooks run after `run`, in order, children's first.
    pub post_run: Option<Vec<String>>,
    /// Nodeset to run on.
    pub nodeset: Option<NodesetRef>,
    /// Seconds the run phase may take.
    pub timeout: Option<u64>,
    /// Whether the job's result counts.
    pub voting: Option<bool>,
    /// Job variables (a YAML mapping converted to JSON).
    pub vars: Option<serde_json::Map<String, serde_json::Value>>,
    /// Where this variant was defined.
    pub source: Source,
}

/// Where a config object was defined.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Source {
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
    /// 1-based line of the object.
    pub line: usize,
    /// True when the project is a config project.
    pub trusted: bool,
}
