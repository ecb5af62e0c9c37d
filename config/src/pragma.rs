//! Pragmas: per-file settings of how the file's objects match branches.

use crate::job::MatcherList;

/// A file's `- pragma:` settings; they apply to every object of that file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pragma {
    /// `Some(false)`: no implied branch matchers; `Some(true)`: always, even in config projects.
    pub implied_branch_matchers: Option<bool>,
    /// Branch regexes to imply instead of the file's own branch.
    pub implied_branches: Option<MatcherList>,
}

/// A `- pragma:` stanza as written.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawPragma {
    /// See [`Pragma::implied_branch_matchers`].
    pub implied_branch_matchers: Option<bool>,
    /// See [`Pragma::implied_branches`].
    pub implied_branches: Option<MatcherList>,
}

impl From<RawPragma> for Pragma {
    fn from(raw: RawPragma) -> Pragma {
        Pragma {
            implied_branch_matchers: raw.implied_branch_matchers,
            implied_branches: raw.implied_branches,
        }
    }
}
