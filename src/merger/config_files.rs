//! Which files of a repo are its Zuul config, and reading them at a commit.
//!
//! Zuul loads in-repo config from the first of `zuul.yaml`, `zuul.d/`,
//! `.zuul.yaml`, `.zuul.d/` that the repo has; a folder contributes every
//! `.yaml` file in it and below, in path order.

use std::path::Path;

use super::{Git, MergerError};

/// The config roots, in the order Zuul looks for them.
pub(super) const ROOTS: [&str; 4] = ["zuul.yaml", "zuul.d", ".zuul.yaml", ".zuul.d"];

/// The config files at `commit` of the repo at `repo`: (path, text) in load order.
pub(super) async fn read(repo: &Path, commit: &str) -> Result<Vec<(String, String)>, MergerError> {
    let listing = Git::new(Some(repo))
        .args(["ls-tree", "-r", "-z", "--name-only", commit, "--"])
        .args(ROOTS)
        .output()
        .await?;
    let paths = String::from_utf8_lossy(&listing)
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    let mut files = Vec::new();
    for path in select(paths) {
        let blob = Git::new(Some(repo))
            .args(["cat-file", "blob", &format!("{commit}:{path}")])
            .output()
            .await?;
        files.push((path, String::from_utf8_lossy(&blob).into_owned()));
    }
    Ok(files)
}

/// From the paths under the config roots, those Zuul loads.
pub(super) fn select(mut paths: Vec<String>) -> Vec<String> {
    paths.sort();
    for root in ROOTS {
        if root.ends_with(".yaml") {
            if paths.iter().any(|p| p == root) {
                return vec![root.to_string()];
            }
            continue;
        }
        let prefix = format!("{root}/");
        let inside: Vec<String> = paths
            .iter()
            .filter(|p| p.starts_with(&prefix) && p.ends_with(".yaml"))
            .cloned()
            .collect();
        if !inside.is_empty() {
            return inside;
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::select;

    fn paths(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn zuul_yaml_wins_over_every_other_root() {
        let chosen = select(paths(&["zuul.d/a.yaml", ".zuul.yaml", "zuul.yaml"]));
        assert_eq!(chosen, paths(&["zuul.yaml"]));
    }

    #[test]
    fn a_config_folder_gives_its_yaml_files_in_path_order_including_subfolders() {
        let chosen = select(paths(&[
            "zuul.d/b.yaml",
            "zuul.d/a/z.yaml",
            "zuul.d/README.md",
            "zuul.d/a.yaml",
            ".zuul.yaml",
        ]));
        assert_eq!(
            chosen,
            paths(&["zuul.d/a.yaml", "zuul.d/a/z.yaml", "zuul.d/b.yaml"])
        );
    }

    #[test]
    fn a_folder_without_yaml_files_does_not_count() {
        let chosen = select(paths(&["zuul.d/notes.txt", ".zuul.d/jobs.yaml"]));
        assert_eq!(chosen, paths(&[".zuul.d/jobs.yaml"]));
    }

    #[test]
    fn a_repo_without_config_has_no_config_files() {
        assert!(select(paths(&[])).is_empty());
    }
}
