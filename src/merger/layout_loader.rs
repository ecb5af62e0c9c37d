//! [`RepoLayoutLoader`]: a tenant's layout read from its projects' repos.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use futures_util::{stream, StreamExt, TryStreamExt};
use portcullis_actors::change::MergeState;
use portcullis_actors::port::{LayoutLoader, LoadError};
use portcullis_config::encryption::ProjectKeys;
use portcullis_config::layout::Speculation;
use portcullis_config::tenant::TenantProject;
use portcullis_config::{ConfigFile, Layout, TenantDef};

use super::local_repo::LocalRepo;
use super::{Merger, MergerError};
use crate::keys::KeyStore;

/// How many projects are read through git processes at once.
const GIT_READS: usize = 16;

/// A project's config files (path, text) as last read from a local repo, with
/// the branch and commit they were read at, by (connection, project): a reload
/// re-reads only the projects whose branch head moved.
type FileCache = HashMap<(String, String), (String, String, Vec<(String, Arc<str>)>)>;

/// What a tenant's last layout was built from: the base of its speculative layouts.
struct Base {
    def: TenantDef,
    drivers: BTreeMap<String, String>,
    files: Vec<ConfigFile>,
    errors: Vec<portcullis_config::ConfigError>,
}

/// Loads layouts by reading each project's config on its default branch.
#[derive(Clone)]
pub struct RepoLayoutLoader {
    merger: Merger,
    /// Decrypts secrets; without it secrets stay encrypted.
    keys: Option<KeyStore>,
    /// Files read in-process from local repos, shared by the loader's clones.
    files: Arc<Mutex<FileCache>>,
    /// Each tenant's last loaded layout's base, by tenant name.
    bases: Arc<Mutex<HashMap<String, Arc<Base>>>>,
}

impl RepoLayoutLoader {
    /// A loader reading repos through `merger`.
    pub fn new(merger: Merger) -> RepoLayoutLoader {
        RepoLayoutLoader {
            merger,
            keys: None,
            files: Arc::default(),
            bases: Arc::default(),
        }
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
        let local = self.read_local(&projects).await;
        // Projects not read in-process go through git, a bounded number at once.
        let reads: Vec<_> = (projects.iter().zip(local))
            .map(|(p, read)| self.files_of(p, read))
            .collect();
        let files: Vec<ConfigFile> = stream::iter(reads)
            .buffered(GIT_READS)
            .try_collect::<Vec<_>>()
            .await?
            .into_iter()
            .flatten()
            .collect();
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
                let (tenant, drivers, files) = (tenant.clone(), drivers.clone(), files.clone());
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
        let base = Base {
            def: tenant.clone(),
            drivers,
            files,
            errors: layout.errors.clone(),
        };
        let mut bases = self.bases.lock().unwrap_or_else(|p| p.into_inner());
        bases.insert(tenant.name.clone(), Arc::new(base));
        Ok(layout)
    }

    /// The files read in-process, else those read through git.
    async fn files_of(
        &self,
        project: &TenantProject,
        read: Option<Vec<ConfigFile>>,
    ) -> Result<Vec<ConfigFile>, LoadError> {
        match read {
            Some(files) => Ok(files),
            None => self.project_files(project).await,
        }
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
        for branch in candidates(head) {
            let read = self
                .merger
                .read_config_files(connection, name, &branch)
                .await
                .map_err(repo_error)?;
            if let Some((commit, files)) = read {
                return Ok(config_files(project, &branch, &commit, shared_texts(files)));
            }
        }
        Ok(Vec::new())
    }

    /// Per project, its config files when its repo is a local one read
    /// in-process, `None` for those to read through git. Off the async threads.
    async fn read_local(&self, projects: &[TenantProject]) -> Vec<Option<Vec<ConfigFile>>> {
        let (merger, cache) = (self.merger.clone(), self.files.clone());
        let projects = projects.to_vec();
        let count = projects.len();
        let read = move || {
            let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
            let reads = projects.iter().map(|p| local_files(&merger, &mut cache, p));
            reads.collect()
        };
        // Should the reader panic, git reads everything.
        tokio::task::spawn_blocking(read)
            .await
            .unwrap_or_else(|_| vec![None; count])
    }
}

/// The project's config files read in-process (from `cache` when its head has
/// not moved); `None` when its repo is not local or not one we can read.
fn local_files(
    merger: &Merger,
    cache: &mut FileCache,
    project: &TenantProject,
) -> Option<Vec<ConfigFile>> {
    let path = merger.local_path(&project.connection, &project.name)?;
    let fallback = |why: String| {
        tracing::debug!(project = %project.name, why, "read through git");
        None
    };
    let mut repo = match LocalRepo::open(&path) {
        Ok(repo) => repo,
        Err(e) => return fallback(e.0),
    };
    let key = (project.connection.clone(), project.name.clone());
    let head = match repo.head_branch() {
        Ok(head) => head,
        Err(e) => return fallback(e.0),
    };
    for branch in candidates(head) {
        let commit = match repo.branch_head(&branch) {
            Ok(Some(commit)) => commit,
            Ok(None) => continue,
            Err(e) => return fallback(e.0),
        };
        if let Some((b, c, files)) = cache.get(&key) {
            if *b == branch && *c == commit {
                return Some(config_files(project, &branch, &commit, files.clone()));
            }
        }
        let files = match repo.config_files(&commit) {
            Ok(files) => shared_texts(files),
            Err(e) => return fallback(e.0),
        };
        let read = config_files(project, &branch, &commit, files.clone());
        cache.insert(key, (branch, commit, files));
        return Some(read);
    }
    cache.remove(&key);
    Some(Vec::new())
}

/// The branches whose config a project's layout comes from, first one that
/// exists: the one HEAD names, then master, then main.
fn candidates(head: Option<String>) -> Vec<String> {
    let mut candidates: Vec<String> = head.into_iter().collect();
    for fallback in ["master", "main"] {
        if !candidates.iter().any(|c| c == fallback) {
            candidates.push(fallback.to_string());
        }
    }
    candidates
}

/// The files with their texts made shareable between the cache and layouts.
fn shared_texts(files: Vec<(String, String)>) -> Vec<(String, Arc<str>)> {
    files
        .into_iter()
        .map(|(path, text)| (path, text.into()))
        .collect()
}

/// (path, text) pairs read at `commit` of `branch` as the layout's config files.
fn config_files(
    project: &TenantProject,
    branch: &str,
    commit: &str,
    files: Vec<(String, Arc<str>)>,
) -> Vec<ConfigFile> {
    let file = |(path, text)| ConfigFile {
        connection: project.connection.clone(),
        project: project.name.clone(),
        branch: branch.to_string(),
        commit: commit.to_string(),
        path,
        trusted: project.trusted,
        text,
    };
    files.into_iter().map(file).collect()
}

impl RepoLayoutLoader {
    /// The layout of `tenant` with its projects' config as in `state`; see
    /// [`LayoutLoader::speculative`].
    pub async fn speculative_layout(
        &self,
        tenant: &str,
        state: &MergeState,
    ) -> Result<Option<Arc<Layout>>, LoadError> {
        let Some(base) = self.base(tenant) else {
            return Ok(None);
        };
        let mut proposed = Vec::new();
        for project in base.def.projects() {
            let key = (project.connection.clone(), project.name.clone());
            let Some(commit) = state.commits.get(&key) else {
                continue;
            };
            let (connection, name) = (project.connection.as_str(), project.name.as_str());
            let repo_error = |e: MergerError| LoadError::Repo(format!("project {name}: {e}"));
            let read = self.merger.config_files_at(connection, name, commit).await;
            let files = shared_texts(read.map_err(repo_error)?);
            let branch = match base.files.iter().find(|f| f.project == name) {
                Some(file) => file.branch.clone(),
                None => self.default_branch(connection, name).await,
            };
            proposed.push((
                name.to_string(),
                config_files(&project, &branch, commit, files),
            ));
        }
        let keys = self.keys.clone();
        let build = move || {
            let speculation = Speculation {
                tenant: &base.def,
                drivers: &base.drivers,
                base: &base.files,
                base_errors: &base.errors,
                keys: keys.as_ref().map(|k| k as &dyn ProjectKeys),
            };
            speculation.layout(&proposed)
        };
        let built = tokio::task::spawn_blocking(build)
            .await
            .map_err(|e| LoadError::Repo(format!("speculative layout build failed: {e}")))?;
        built
            .map(|layout| layout.map(Arc::new))
            .map_err(LoadError::Config)
    }

    /// What the tenant's last layout was built from.
    fn base(&self, tenant: &str) -> Option<Arc<Base>> {
        let bases = self.bases.lock().unwrap_or_else(|p| p.into_inner());
        bases.get(tenant).cloned()
    }

    /// The branch a project's config is read from when it has none yet.
    async fn default_branch(&self, connection: &str, project: &str) -> String {
        let head = self.merger.default_branch(connection, project).await;
        candidates(head.ok().flatten()).remove(0)
    }
}

impl LayoutLoader for RepoLayoutLoader {
    fn load(&self, tenant: TenantDef) -> BoxFuture<'static, Result<Layout, LoadError>> {
        let loader = self.clone();
        Box::pin(async move { loader.load_layout(&tenant).await })
    }

    fn speculative(
        &self,
        tenant: &str,
        state: &MergeState,
    ) -> BoxFuture<'static, Result<Option<Arc<Layout>>, LoadError>> {
        let (loader, tenant, state) = (self.clone(), tenant.to_string(), state.clone());
        Box::pin(async move { loader.speculative_layout(&tenant, &state).await })
    }
}

#[cfg(test)]
mod tests;
