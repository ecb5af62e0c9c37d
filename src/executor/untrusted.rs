//! Zuul's rule for untrusted playbooks that the sandbox alone does not make:
//! they load no Ansible plugins or modules from their own repo. Ansible
//! would load those from folders beside the playbook and inside its roles,
//! so a build with such a folder is refused before anything runs.

use std::path::{Path, PathBuf};

use super::ExecutorError;

/// Folder names beside a playbook or in a role that Ansible loads code from,
/// besides any `*_plugins`.
const CODE_DIRS: &[&str] = &["library", "module_utils", "collections"];

/// Refuses untrusted `playbook` (checked out at `repo`) when a folder
/// beside it, or in a role beside it or at the repo's top, holds code that
/// Ansible would load.
pub async fn refuse_plugins(repo: &Path, playbook: &Path) -> Result<(), ExecutorError> {
    let playbook_dir = playbook.parent().unwrap_or(repo).to_path_buf();
    let repo = repo.to_path_buf();
    let found = tokio::task::spawn_blocking(move || {
        let mut places = vec![playbook_dir.clone()];
        for roles in [playbook_dir.join("roles"), repo.join("roles")] {
            places.extend(subdirs(&roles));
        }
        places.iter().find_map(|place| code_dir(place))
    })
    .await
    .map_err(|e| ExecutorError::Workspace(e.to_string()))?;
    match found {
        Some(dir) => Err(ExecutorError::PluginDir {
            dir,
            playbook: playbook.to_path_buf(),
        }),
        None => Ok(()),
    }
}

/// The first folder in `place` that Ansible would load code from.
fn code_dir(place: &Path) -> Option<PathBuf> {
    subdirs(place).into_iter().find(|dir| {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
        CODE_DIRS.contains(&name) || name.ends_with("_plugins")
    })
}

/// The folders (symlinks to folders too) directly in `dir`, sorted.
fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_with(dirs: &[&str]) -> tempfile::TempDir {
        let repo = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(repo.path().join("playbooks")).unwrap();
        std::fs::write(repo.path().join("playbooks/run.yaml"), "- hosts: all\n").unwrap();
        for dir in dirs {
            std::fs::create_dir_all(repo.path().join(dir)).unwrap();
        }
        repo
    }

    async fn check(repo: &tempfile::TempDir) -> Result<(), ExecutorError> {
        let playbook = repo.path().join("playbooks/run.yaml");
        refuse_plugins(repo.path(), &playbook).await
    }

    #[tokio::test]
    async fn a_playbook_with_plain_folders_and_roles_beside_it_may_run() {
        let repo = repo_with(&["playbooks/files", "roles/build/tasks", "src/library-docs"]);

        assert!(check(&repo).await.is_ok());
    }

    #[tokio::test]
    async fn code_beside_an_untrusted_playbook_or_in_its_roles_refuses_the_build() {
        for dir in [
            "playbooks/library",
            "playbooks/action_plugins",
            "playbooks/lookup_plugins",
            "playbooks/filter_plugins",
            "playbooks/module_utils",
            "playbooks/collections",
            "playbooks/roles/build/library",
            "roles/build/filter_plugins",
        ] {
            let repo = repo_with(&[dir]);

            let err = check(&repo).await.expect_err(dir);

            let text = err.to_string();
            assert!(text.contains("plugin dir") && text.contains(dir), "{text}");
        }
    }
}
