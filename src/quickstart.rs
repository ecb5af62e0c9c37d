//! The quickstart: creates its example repos from `config/quickstart/projects` on first start.
//!
//! A git connection with `seed` set and a local `baseurl` gets, for each of its
//! projects that has no repo yet but has a folder under `seed`, a bare repo
//! whose branch `master` holds that folder's files in one commit. Bare, so that
//! users can clone it and push back to it like to any hosted repo.

use std::path::{Component, Path, PathBuf};

use anyhow::Context;
use portcullis_config::server::GitConnection;

use crate::merger::Git;

const AUTHOR_NAME: &str = "Portcullis Quickstart";
const AUTHOR_EMAIL: &str = "quickstart@portcullis.invalid";

/// Creates the missing repos of `projects` from the connection's seed folder;
/// returns the names of those it created. Existing repos are left untouched.
pub async fn seed_repos(
    connection: &GitConnection,
    projects: &[String],
) -> anyhow::Result<Vec<String>> {
    let (Some(seed), Some(base)) = (&connection.seed, local_folder(&connection.baseurl)) else {
        return Ok(Vec::new());
    };
    let mut created = Vec::new();
    for project in projects {
        let plain = Path::new(project)
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        let (source, target) = (seed.join(project), base.join(project));
        if !plain || target.exists() || !source.is_dir() {
            continue;
        }
        seed_repo(&source, &target).await.with_context(|| {
            format!(
                "creating repo {} from {}",
                target.display(),
                source.display()
            )
        })?;
        tracing::info!(%project, repo = %target.display(), "created quickstart repo");
        created.push(project.clone());
    }
    Ok(created)
}

/// The folder a `baseurl` names, when it names one (a path or a file:// URL).
fn local_folder(baseurl: &str) -> Option<PathBuf> {
    if let Some(path) = baseurl.strip_prefix("file://") {
        return Some(PathBuf::from(path));
    }
    (!baseurl.contains("://") && !baseurl.starts_with("git@")).then(|| PathBuf::from(baseurl))
}

/// Builds the repo beside `target` and renames it into place, so a failed
/// attempt never leaves a half-made repo that the next start would skip.
async fn seed_repo(source: &Path, target: &Path) -> anyhow::Result<()> {
    let name = target.file_name().context("repo path has no name")?;
    let staging = target.with_file_name(format!(".{}.seeding", name.to_string_lossy()));
    if staging.exists() {
        tokio::fs::remove_dir_all(&staging).await?;
    }
    tokio::fs::create_dir_all(&staging).await?;
    hermetic(None)
        .args(["init", "--quiet", "--bare", "--initial-branch=master"])
        .arg(&staging)
        .output()
        .await?;
    // A scratch index lets us commit the seed folder as it is, without copying it.
    let index = staging.join("seed-index");
    hermetic(Some(source))
        .arg("--git-dir")
        .arg(&staging)
        .arg("--work-tree")
        .arg(source)
        .args(["add", "--all", "."])
        .env("GIT_INDEX_FILE", &index)
        .output()
        .await?;
    let tree = hermetic(None)
        .arg("--git-dir")
        .arg(&staging)
        .arg("write-tree")
        .env("GIT_INDEX_FILE", &index)
        .text()
        .await?;
    let commit = hermetic(None)
        .arg("--git-dir")
        .arg(&staging)
        .args([
            "commit-tree",
            tree.trim(),
            "-m",
            "Quickstart example project",
        ])
        .text()
        .await?;
    hermetic(None)
        .arg("--git-dir")
        .arg(&staging)
        .args(["update-ref", "refs/heads/master", commit.trim()])
        .output()
        .await?;
    tokio::fs::remove_file(&index).await?;
    tokio::fs::rename(&staging, target).await?;
    Ok(())
}

/// git with a fixed identity and no user or system config, so seeding gives the
/// same repos on every machine, including one where git has no identity set.
fn hermetic(dir: Option<&Path>) -> Git {
    Git::new(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", AUTHOR_NAME)
        .env("GIT_AUTHOR_EMAIL", AUTHOR_EMAIL)
        .env("GIT_COMMITTER_NAME", AUTHOR_NAME)
        .env("GIT_COMMITTER_EMAIL", AUTHOR_EMAIL)
        .args(["-c", &format!("user.name={AUTHOR_NAME}")])
        .args(["-c", &format!("user.email={AUTHOR_EMAIL}")])
}

#[cfg(test)]
mod tests;
