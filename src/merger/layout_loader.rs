//! [`RepoLayoutLoader`]: a tenant's layout read from its projects' repos.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::{try_join_all, BoxFuture};
use portcullis_actors::port::{LayoutLoader, LoadError};
use portcullis_config::tenant::TenantProject;
use portcullis_config::{ConfigFile, Layout, TenantDef};

use super::{Merger, MergerError};
use crate::keys::KeyStore;

/// Loads layouts by reading each project's config on its default branch.
#[derive(Clone)]
pub struct RepoLayoutLoader {
    merger: Merger,
    /// Decrypts secrets; without it secrets stay encrypted.
    keys: Option<KeyStore>,
}

impl RepoLayoutLoader {
    /// A loader reading repos through `merger`.
    pub fn new(merger: Merger) -> RepoLayoutLoader {
        RepoLayoutLoader { merger, keys: None }
    }

    /// The same loader, decrypting secrets with the projects' keys from `keys`.
    pub fn with_keys(self, keys: KeyStore) -> RepoLayoutLoader {
        RepoLayoutLoader {
            keys: Some(keys),
            ..self
        }
    }

    /// Reads every project's config files (config projects first) and builds the layout.
    pub async fn load_layout(&self, tenant: &TenantDef) -> Result<Layout, LoadError> {
        let projects = tenant.projects();
        let reads = projects.iter().map(|p| self.project_files(p));
        let files: Vec<ConfigFile> = try_join_all(reads).await?.into_iter().flatten().collect();
        let drivers: BTreeMap<String, String> = self
            .merger
            .connections()
            .iter()
            .map(|(name, c)| (name.clone(), c.driver().to_string()))
            .collect();
        let layout = match self.keys.clone() {
            None => Layout::build(tenant, &drivers, &files),
            // Reading (or making) a key takes up to seconds: off the async threads.
            Some(keys) => {
                let tenant = tenant.clone();
                let build = move || Layout::build_with_keys(&tenant, &drivers, &files, Some(&keys));
                tokio::task::spawn_blocking(build)
                    .await
                    .map_err(|e| LoadError::Repo(format!("layout build failed: {e}")))?
            }
        };
        let trusted: BTreeSet<&str> = projects
            .iter()
            .filter(|p| p.trusted)
            .map(|p| p.name.as_str())
            .collect();
        // A broken config project would take pipelines or base jobs away from every
        // project, so its errors reject the whole layout; untrusted errors only drop
        // that project's objects and are shown with the layout.
        let fatal: Vec<_> = layout
            .errors
            .iter()
            .filter(|e| e.project.as_deref().is_none_or(|p| trusted.contains(p)))
            .cloned()
            .collect();
        if !fatal.is_empty() {
            return Err(LoadError::Config(fatal));
        }
        Ok(layout)
    }

    /// The project's config files on its default branch (none for an empty repo).
    async fn project_files(&self, project: &TenantProject) -> Result<Vec<ConfigFile>, LoadError> {
        let repo_error = |e: MergerError| LoadError::Repo(format!("project {}: {e}", project.name));
        let (connection, name) = (project.connection.as_str(), project.name.as_str());
        let head = self
            .merger
            .default_branch(connection, name)
            .await
            .map_err(repo_error)?;
        let mut candidates: Vec<String> = head.into_iter().collect();
        for fallback in ["master", "main"] {
            if !candidates.iter().any(|c| c == fallback) {
                candidates.push(fallback.to_string());
            }
        }
        for branch in candidates {
            let read = self
                .merger
                .read_config_files(connection, name, &branch)
                .await
                .map_err(repo_error)?;
            if let Some((commit, files)) = read {
                return Ok(files
                    .into_iter()
                    .map(|(path, text)| ConfigFile {
                        connection: connection.to_string(),
                        project: name.to_string(),
                        branch: branch.clone(),
                        commit: commit.clone(),
                        path,
                        trusted: project.trusted,
                        text,
                    })
                    .collect());
            }
        }
        Ok(Vec::new())
    }
}

impl LayoutLoader for RepoLayoutLoader {
    fn load(&self, tenant: TenantDef) -> BoxFuture<'static, Result<Layout, LoadError>> {
        let loader = self.clone();
        Box::pin(async move { loader.load_layout(&tenant).await })
    }
}

#[cfg(test)]
mod tests;
