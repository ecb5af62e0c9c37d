//! Proposed changes on plain git: what a review branch's name and head commit mean.
//!
//! With the connection's `review-prefix` (default `review/`), a branch named
//!
//! - `review/<target>/<topic>` proposes a change to the existing branch
//!   `<target>`; target names may hold slashes, and the longest existing
//!   branch that fits wins (`review/stable/2.x/fix` targets `stable/2.x` when
//!   it exists, else `stable` when that exists);
//! - `review/<topic>`, when no existing branch fits, proposes a change to the
//!   project's default branch (the one the repo's HEAD names).
//!
//! The target is fixed when the change is first seen. Branches under the
//! prefix are never targets themselves. An empty prefix turns the feature off.
//!
//! `Depends-On:` footers of the head commit's message name the changes it needs.
//! For plain git, Portcullis understands `Depends-On: <project>~<number>`
//! (change `<number>` of that project on the same connection; numbers are
//! unique per connection, so the project is a check for the reader), and keeps
//! `http(s)://` URLs as written, for changes on review systems. Other values
//! are ignored. Like Zuul, it reads such lines anywhere in the message.

use std::collections::BTreeSet;

/// What a review branch proposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewBranch {
    /// The branch the change would merge into.
    pub target: String,
    /// The rest of the name (what the change is about).
    pub topic: String,
}

/// The part of a branch name after `prefix`, when the branch is a review branch.
pub fn review_name<'a>(prefix: &str, branch: &'a str) -> Option<&'a str> {
    if prefix.is_empty() {
        return None;
    }
    branch.strip_prefix(prefix).filter(|rest| !rest.is_empty())
}

/// Resolves `rest` (a review branch name without its prefix) against the existing
/// `branches` (review branches excluded) and the project's `default` branch.
pub fn resolve(
    rest: &str,
    branches: &BTreeSet<&str>,
    default: Option<&str>,
) -> Option<ReviewBranch> {
    // From the right, so the longest target that exists wins.
    let by_target = rest
        .rmatch_indices('/')
        .map(|(slash, _)| (&rest[..slash], &rest[slash + 1..]))
        .find(|(target, topic)| !topic.is_empty() && branches.contains(target));
    let (target, topic) = match by_target {
        Some(found) => found,
        None => (default?, rest),
    };
    Some(ReviewBranch {
        target: target.to_string(),
        topic: topic.to_string(),
    })
}

/// The values of a message's `Depends-On:` lines that Portcullis understands, in order.
pub fn depends_on(message: &str) -> Vec<String> {
    const KEY: &str = "depends-on:";
    message
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let head = line.get(..KEY.len())?;
            head.eq_ignore_ascii_case(KEY)
                .then(|| line[KEY.len()..].trim())
        })
        .filter(|value| is_change_ref(value) || is_url(value))
        .map(str::to_string)
        .collect()
}

/// A dependency as `<project>~<number>`, split.
pub fn parse_change_ref(value: &str) -> Option<(&str, u64)> {
    let (project, number) = value.rsplit_once('~')?;
    let number = number.parse().ok()?;
    (!project.is_empty() && !project.contains(char::is_whitespace)).then_some((project, number))
}

fn is_change_ref(value: &str) -> bool {
    parse_change_ref(value).is_some()
}

fn is_url(value: &str) -> bool {
    (value.starts_with("https://") || value.starts_with("http://"))
        && !value.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn branches<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
        names.iter().copied().collect()
    }

    fn resolved(target: &str, topic: &str) -> Option<ReviewBranch> {
        Some(ReviewBranch {
            target: target.into(),
            topic: topic.into(),
        })
    }

    #[test]
    fn a_branch_under_the_prefix_is_a_review_branch_and_others_are_not() {
        assert_eq!(review_name("review/", "review/master/x"), Some("master/x"));
        assert_eq!(review_name("review/", "reviews/x"), None);
        assert_eq!(review_name("review/", "review/"), None);
        assert_eq!(review_name("", "review/x"), None, "an empty prefix is off");
    }

    #[test]
    fn review_target_topic_proposes_to_the_named_branch() {
        let existing = branches(&["master", "stable"]);
        let got = resolve("master/fix-typo", &existing, Some("master"));
        assert_eq!(got, resolved("master", "fix-typo"));
        let got = resolve("stable/fix/deep", &existing, Some("master"));
        assert_eq!(got, resolved("stable", "fix/deep"));
    }

    #[test]
    fn review_topic_alone_proposes_to_the_default_branch() {
        let existing = branches(&["main", "stable"]);
        assert_eq!(
            resolve("fix-typo", &existing, Some("main")),
            resolved("main", "fix-typo")
        );
        let unknown_first_part = resolve("feature/x", &existing, Some("main"));
        assert_eq!(unknown_first_part, resolved("main", "feature/x"));
        assert_eq!(
            resolve("x", &existing, None),
            None,
            "no default branch, no target"
        );
    }

    // git itself never holds both `stable` and `stable/2.x`; the rule still says which wins.
    #[test]
    fn target_branches_with_slashes_resolve_to_the_longest_existing_one() {
        let existing = branches(&["stable", "stable/2.x", "master"]);
        let got = resolve("stable/2.x/backport", &existing, Some("master"));
        assert_eq!(got, resolved("stable/2.x", "backport"));
        let got = resolve("stable/3.x/backport", &existing, Some("master"));
        assert_eq!(got, resolved("stable", "3.x/backport"));
        let no_topic = resolve("stable/2.x", &existing, Some("master"));
        assert_eq!(no_topic, resolved("stable", "2.x"));
    }

    #[test]
    fn depends_on_footers_give_project_tilde_number_and_urls_in_order() {
        let message = "Use the new API\n\nBody text mentioning Depends-On: inline.\n\n\
                       Depends-On: org/lib~12\n\
                       depends-on:   https://review.example.com/34  \n\
                       Depends-On: not a reference\n\
                       Depends-On: lib~x\n\
                       DEPENDS-ON: tools~7\n";
        assert_eq!(
            depends_on(message),
            vec!["org/lib~12", "https://review.example.com/34", "tools~7"]
        );
        assert_eq!(parse_change_ref("org/lib~12"), Some(("org/lib", 12)));
        assert_eq!(parse_change_ref("~12"), None);
        assert!(depends_on("No footers\n").is_empty());
    }
}
