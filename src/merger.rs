//! Git operations: a cache of bare clones, refs, config files and build workspaces.
//!
//! The cache holds one bare repo per project under `{cache_dir}/{connection}/{project}.git`,
//! mirroring the upstream's branches and tags. Work on one project is serialised
//! by a per-project async mutex; different projects proceed in parallel.
//!
//! | module | what it holds |
//! |---|---|
//! | `git` | running the git CLI through `tokio::process` |
//! | `changed_files` | the files an item changes, for its jobs' file matchers |
//! | `config_files` | which files of a repo are its Zuul config |
//! | `scratch` | per-project scratch work trees where changes are merged, in every merge mode |
//! | `speculative` | the engine's `SpeculativeMerger` port: speculative states under `refs/portcullis/state/` |
//! | `land` | [`Merger::land`]: merging a change into its upstream target branch |
//! | [`layout_loader`] | [`RepoLayoutLoader`]: a tenant's layout from its repos |
//! | `local_repo` | reading a repo on this machine in-process, for fast layout loads |
//! | `patchset` | a new patchset's message and the commits its target lacks |

mod changed_files;
mod config_files;
mod git;
mod land;
pub mod layout_loader;
mod local_repo;
mod patchset;
mod scratch;
mod speculative;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use portcullis_config::server::Connection;

pub(crate) use git::Git;
pub use land::{LandError, Landing};
pub use layout_loader::RepoLayoutLoader;
pub use patchset::PatchsetCommits;

/// Why a git operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MergerError {
    /// The connection is not in the server config.
    #[error("unknown connection `{0}`")]
    UnknownConnection(String),
    /// The project name would leave the cache folder.
    #[error("invalid project name `{0}`")]
    InvalidProject(String),
    /// A git command exited with an error.
    #[error("`{command}` failed ({status}): {stderr}")]
    Git {
        /// The command line (credentials hidden).
        command: String,
        /// How it exited.
        status: String,
        /// What it said.
        stderr: String,
    },
    /// git could not be started.
    #[error("could not run `{command}`: {source}")]
    Spawn {
        /// The command line (credentials hidden).
        command: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The commit is in neither the cache nor the upstream's branches and tags.
    #[error("commit {commit} not found in {project}")]
    CommitNotFound {
        /// Project name.
        project: String,
        /// The commit asked for.
        commit: String,
    },
    /// A file or folder of the cache could not be made.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The git side of the server: cheap to clone, all clones share one cache.
#[derive(Clone)]
pub struct Merger {
    inner: Arc<Inner>,
}

/// One async lock per (connection, project) cache repo.
type ProjectLocks = HashMap<(String, String), Arc<tokio::sync::Mutex<()>>>;

struct Inner {
    /// Where the bare clones live; owned by this merger alone.
    cache_dir: PathBuf,
    /// The server's connections, by name.
    connections: BTreeMap<String, Connection>,
    /// One lock per (connection, project) cache repo, created on first use.
    locks: Mutex<ProjectLocks>,
    /// The (connection, project) scratch trees made fresh in this process and healthy since.
    scratch_ready: Mutex<HashSet<(String, String)>>,
}

impl Merger {
    /// A merger keeping its bare clones under `cache_dir`.
    pub fn new(cache_dir: PathBuf, connections: BTreeMap<String, Connection>) -> Merger {
        Merger {
            inner: Arc::new(Inner {
                cache_dir,
                connections,
                locks: Mutex::new(HashMap::new()),
                scratch_ready: Mutex::new(HashSet::new()),
            }),
        }
    }

    /// The folder of the cache, owned by this merger.
    pub fn cache_dir(&self) -> &Path {
        &self.inner.cache_dir
    }

    /// The connections this merger knows.
    pub fn connections(&self) -> &BTreeMap<String, Connection> {
        &self.inner.connections
    }

    /// Where the project's repo is: `{baseurl}/{project}`.
    pub fn repo_url(&self, connection: &str, project: &str) -> Result<String, MergerError> {
        let Some(Connection::Git(git)) = self.inner.connections.get(connection) else {
            return Err(MergerError::UnknownConnection(connection.to_string()));
        };
        check_project_name(project)?;
        Ok(format!("{}/{project}", git.baseurl.trim_end_matches('/')))
    }

    /// The project's repo as a folder on this machine, when the connection's
    /// baseurl is one (an absolute path or a `file://` URL): such a repo can be
    /// read in-process instead of through git processes.
    pub(crate) fn local_path(&self, connection: &str, project: &str) -> Option<PathBuf> {
        let url = self.repo_url(connection, project).ok()?;
        let path = url.strip_prefix("file://").unwrap_or(&url);
        path.starts_with('/').then(|| PathBuf::from(path))
    }

    /// Branches and tags of the upstream repo: full ref name → sha (tags unpeeled).
    pub async fn refs(
        &self,
        connection: &str,
        project: &str,
    ) -> Result<BTreeMap<String, String>, MergerError> {
        let url = self.repo_url(connection, project)?;
        let out = Git::new(None)
            .args(["ls-remote", "--heads", "--tags"])
            .arg(&url)
            .text()
            .await?;
        Ok(parse_ls_remote(&out))
    }

    /// The branch the upstream's HEAD points to, when it names one that exists.
    pub async fn default_branch(
        &self,
        connection: &str,
        project: &str,
    ) -> Result<Option<String>, MergerError> {
        let url = self.repo_url(connection, project)?;
        let out = Git::new(None)
            .args(["ls-remote", "--symref"])
            .arg(&url)
            .arg("HEAD")
            .text()
            .await?;
        Ok(out.lines().find_map(|line| {
            let (target, name) = line.strip_prefix("ref: ")?.split_once('\t')?;
            (name == "HEAD")
                .then(|| target.strip_prefix("refs/heads/"))?
                .map(str::to_string)
        }))
    }

    /// Creates `dest` as a repo whose work tree is checked out (detached) at `commit`.
    /// `dest` must not exist or be empty; `origin` in it points at the real repo.
    pub async fn checkout(
        &self,
        connection: &str,
        project: &str,
        commit: &str,
        dest: &Path,
    ) -> Result<(), MergerError> {
        let url = self.repo_url(connection, project)?;
        check_revision(project, commit)?;
        let lock = self.lock(connection, project);
        let _guard = lock.lock().await;
        let cache = self.ensure_cache(connection, project).await?;
        ensure_commit(&cache, &url, project, commit).await?;
        // Copies, not hardlinks, of the cache's objects: a build's user owns its
        // workspace, and owning an inode shared with the cache would let it
        // rewrite what every later build and merge reads.
        Git::new(None)
            .args(["clone", "--quiet", "--no-checkout", "--no-hardlinks"])
            .arg(&cache)
            .arg(dest)
            .output()
            .await?;
        Git::new(Some(dest))
            .args(["checkout", "--quiet", "--detach", commit])
            .output()
            .await?;
        // Point origin at the real repo, so a user in the workspace sees where it came from.
        Git::new(Some(dest))
            .args(["remote", "set-url", "origin"])
            .arg(&url)
            .output()
            .await?;
        Ok(())
    }

    /// The project's Zuul config at the head of `branch`: the commit and its files
    /// (path, text) in load order; `None` when the branch does not exist.
    pub async fn read_config_files(
        &self,
        connection: &str,
        project: &str,
        branch: &str,
    ) -> Result<Option<(String, Vec<(String, String)>)>, MergerError> {
        let url = self.repo_url(connection, project)?;
        check_revision(project, branch)?;
        let lock = self.lock(connection, project);
        let _guard = lock.lock().await;
        let cache = self.ensure_cache(connection, project).await?;
        fetch(&cache, &url).await?;
        let spec = format!("refs/heads/{branch}^{{commit}}");
        let head = Git::new(Some(&cache))
            .args(["rev-parse", "--verify", "--quiet", &spec])
            .output()
            .await;
        let commit = match head {
            Ok(out) => String::from_utf8_lossy(&out).trim().to_string(),
            Err(MergerError::Git { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let files = config_files::read(&cache, &commit).await?;
        Ok(Some((commit, files)))
    }

    /// The project's Zuul config at `commit` of its cache repo (a speculative
    /// state's commit): its files (path, text) in load order.
    pub async fn config_files_at(
        &self,
        connection: &str,
        project: &str,
        commit: &str,
    ) -> Result<Vec<(String, String)>, MergerError> {
        check_revision(project, commit)?;
        let lock = self.lock(connection, project);
        let _guard = lock.lock().await;
        let cache = self.ensure_cache(connection, project).await?;
        config_files::read(&cache, commit).await
    }

    fn lock(&self, connection: &str, project: &str) -> Arc<tokio::sync::Mutex<()>> {
        // A poisoned map is still a valid map: the lock only guards inserts.
        let mut locks = self
            .inner
            .locks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (connection.to_string(), project.to_string());
        locks.entry(key).or_default().clone()
    }

    fn ready_scratch(&self) -> std::sync::MutexGuard<'_, HashSet<(String, String)>> {
        // A poisoned set is still a valid set: at worst a tree is recreated once more.
        self.inner
            .scratch_ready
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The project's bare cache repo, created empty on first use. Call with its lock held.
    async fn ensure_cache(&self, connection: &str, project: &str) -> Result<PathBuf, MergerError> {
        let path = self
            .inner
            .cache_dir
            .join(connection)
            .join(format!("{project}.git"));
        if !path.join("HEAD").exists() {
            tokio::fs::create_dir_all(&path)
                .await
                .map_err(|source| MergerError::Io {
                    path: path.clone(),
                    source,
                })?;
            Git::new(Some(&path))
                .args(["init", "--quiet", "--bare"])
                .output()
                .await?;
        }
        Ok(path)
    }
}

/// Mirrors the upstream's branches and tags into the cache (deleted ones removed).
async fn fetch(cache: &Path, url: &str) -> Result<(), MergerError> {
    Git::new(Some(cache))
        .args(["fetch", "--quiet", "--prune", "--no-tags"])
        .arg(url)
        .args(["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"])
        .output()
        .await?;
    Ok(())
}

/// The head of `branch` in the cache, or `CommitNotFound` naming the branch.
async fn branch_head(cache: &Path, project: &str, branch: &str) -> Result<String, MergerError> {
    check_revision(project, branch)?;
    let spec = format!("refs/heads/{branch}^{{commit}}");
    let head = Git::new(Some(cache))
        .args(["rev-parse", "--verify", "--quiet", &spec])
        .text()
        .await;
    match head {
        Ok(sha) => Ok(sha.trim().to_string()),
        Err(MergerError::Git { .. }) => Err(MergerError::CommitNotFound {
            project: project.to_string(),
            commit: format!("branch {branch}"),
        }),
        Err(e) => Err(e),
    }
}

/// Fetches when `commit` is not in the cache yet; `CommitNotFound` when it is nowhere.
async fn ensure_commit(
    cache: &Path,
    url: &str,
    project: &str,
    commit: &str,
) -> Result<(), MergerError> {
    if !has_commit(cache, commit).await? {
        fetch(cache, url).await?;
        if !has_commit(cache, commit).await? {
            return Err(MergerError::CommitNotFound {
                project: project.to_string(),
                commit: commit.to_string(),
            });
        }
    }
    Ok(())
}

async fn has_commit(repo: &Path, commit: &str) -> Result<bool, MergerError> {
    Git::new(Some(repo))
        .args(["cat-file", "-e", &format!("{commit}^{{commit}}")])
        .succeeds()
        .await
}

/// ls-remote's `sha<TAB>ref` lines as a map, without the peeled `^{}` lines.
fn parse_ls_remote(out: &str) -> BTreeMap<String, String> {
    out.lines()
        .filter_map(|line| line.split_once('\t'))
        .filter(|(_, name)| name.starts_with("refs/") && !name.ends_with("^{}"))
        .map(|(sha, name)| (name.to_string(), sha.to_string()))
        .collect()
}

fn check_project_name(project: &str) -> Result<(), MergerError> {
    let normal = Path::new(project)
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    if project.is_empty() || !normal || project.ends_with('/') {
        return Err(MergerError::InvalidProject(project.to_string()));
    }
    Ok(())
}

/// Refuses a revision git would read as an option.
fn check_revision(project: &str, revision: &str) -> Result<(), MergerError> {
    if revision.is_empty() || revision.starts_with('-') {
        return Err(MergerError::CommitNotFound {
            project: project.to_string(),
            commit: revision.to_string(),
        });
    }
    Ok(())
}
