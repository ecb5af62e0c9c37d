//! Ansible runs: the engine's [`Executor`] port, implemented with a real
//! `ansible-playbook`.
//!
//! A build gets a folder `{state}/builds/{uuid}/` (its work dir `work/`, its
//! ansible.cfg, inventory and plugins in `ansible/`, playbook checkouts) and a
//! log dir `{state}/logs/{uuid}/` (job-output.txt, served by the web at
//! `{web_root}logs/{uuid}/`). Its pre-run, run and post-run playbooks run one
//! after another, each `ansible-playbook` in a sandbox of its own as the
//! build's own user, in its own process group that is killed as a whole on
//! timeout, on a broken limit or when the build is dropped.
//!
//! | module | what it holds |
//! |---|---|
//! | [`ansible`] | finding or installing ansible-playbook |
//! | [`console`] | the Ansible plugins that stream command output from the nodes |
//! | [`workspace`] | checkouts and config files of a build |
//! | [`vars`] | the inventory and the `zuul` variables |
//! | [`process`] | one playbook process: output, timeout, killing its group |
//! | [`job_output`] | job-output.txt and the live log |
//! | [`phase`] | the pre-run / run / post-run sequence and its result |
//! | [`sandbox`] | the namespaces a playbook runs in, and what it sees |
//! | [`containment`] | a build's user, sandboxes, environment and limits |
//! | [`limits`] | disk and output limits |
//! | [`untrusted`] | the plugin folders untrusted playbooks may not bring |
//! | [`crate::nodes`] | (outside) nodes from providers, in [`AnsibleExecutor::with_nodes`] |
//! | [`zuul_return`] | data a job returns to its children (Zuul's `zuul_return`) |

pub mod ansible;
pub mod console;
pub mod containment;
pub mod job_output;
pub mod limits;
pub mod phase;
pub mod process;
pub mod sandbox;
pub mod untrusted;
pub mod vars;
pub mod workspace;
pub mod zuul_return;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::future::{BoxFuture, FutureExt};
use portcullis_actors::{BuildLog, BuildOutcome, BuildRequest, BuildResult, Executor};
use portcullis_config::server::ExecutorConfig;
use tokio::sync::OnceCell;
use tracing::Instrument;

use crate::merger::Merger;
use crate::nodes::{NodeError, NodeLease, NodeLog, NodeProviders};

pub use ansible::ensure_ansible;
pub use workspace::Checkout;

use containment::{Containment, Parts};
use job_output::JobOutput;
use limits::Limits;
use sandbox::UserPool;
use vars::BuildPaths;

/// Why a build could not run; every kind ends the build as ERROR.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    /// ansible-core could not be installed.
    #[error("installing ansible failed: {0}")]
    AnsibleInstall(String),
    /// A repo could not be checked out into the work dir.
    #[error("checking out {project} at {commit} failed: {reason}")]
    Checkout {
        /// The project.
        project: String,
        /// The commit asked for.
        commit: String,
        /// What the merger said.
        reason: String,
    },
    /// The work or log dir could not be written.
    #[error("preparing the workspace failed: {0}")]
    Workspace(String),
    /// A provider gave no node; the build ends as NODE_FAILURE.
    #[error("{0}")]
    Nodes(#[from] NodeError),
    /// An untrusted playbook brings Ansible code of its own.
    #[error(
        "Ansible plugin dir {dir} found beside untrusted playbook {playbook}: \
         untrusted projects may not load plugins or modules",
        dir = .dir.display(),
        playbook = .playbook.display()
    )]
    PluginDir {
        /// The refused folder.
        dir: PathBuf,
        /// The playbook.
        playbook: PathBuf,
    },
    /// Every build user is taken.
    #[error("no build user is free")]
    NoUser,
    /// ansible-playbook could not be started or watched.
    #[error("running {program} failed: {source}")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl ExecutorError {
    /// The build result this error gives.
    pub fn result(&self) -> BuildResult {
        match self {
            ExecutorError::Nodes(_) => BuildResult::NodeFailure,
            _ => BuildResult::Error,
        }
    }
}

/// What an [`AnsibleExecutor`] needs.
#[derive(Clone)]
pub struct ExecutorSettings {
    /// The server's state dir: builds, logs and the Ansible venv live under it.
    pub state_dir: PathBuf,
    /// Where ansible-playbook comes from, what the sandbox shows, the limits.
    pub config: ExecutorConfig,
    /// Checks out the repos of a build.
    pub merger: Merger,
    /// Public root URL of the web server, ending in `/`.
    pub web_root: String,
}

/// Runs builds with ansible-playbook. Cheap to clone.
#[derive(Clone)]
pub struct AnsibleExecutor {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    settings: ExecutorSettings,
    /// The merger, seen through the one operation a build needs.
    checkout: Arc<dyn Checkout>,
    /// The resolved ansible-playbook and the folders of its Python, found
    /// (or installed) once for all builds.
    ansible: OnceCell<(PathBuf, Vec<PathBuf>)>,
    /// The users builds run as.
    users: UserPool,
    /// Where nodes other than the local machine come from.
    nodes: NodeProviders,
}

impl AnsibleExecutor {
    /// An executor with these settings; nothing is installed until the first build.
    pub fn new(settings: ExecutorSettings) -> Self {
        AnsibleExecutor {
            inner: Arc::new(Inner {
                checkout: Arc::new(settings.merger.clone()),
                settings,
                ansible: OnceCell::new(),
                users: UserPool::default(),
                nodes: NodeProviders::default(),
            }),
        }
    }

    /// The same executor, getting nodes whose labels they serve from `nodes`.
    pub fn with_nodes(self, nodes: NodeProviders) -> Self {
        let inner = Arc::unwrap_or_clone(self.inner);
        AnsibleExecutor {
            inner: Arc::new(Inner { nodes, ..inner }),
        }
    }

    /// Ends what a previous run that died left of its builds: processes
    /// still running as build users no live build holds, and work dirs under
    /// `builds/` (those of `held` builds stay for their autohold). Call it
    /// before the first build; answers (users whose processes were ended,
    /// work dirs removed).
    pub async fn end_leftovers(&self, held: std::collections::HashSet<String>) -> (usize, usize) {
        let users = self.inner.users.clone();
        let builds = self.inner.settings.state_dir.join("builds");
        let ended = tokio::task::spawn_blocking(move || {
            let users = users.end_orphans();
            let entries = std::fs::read_dir(&builds).into_iter().flatten().flatten();
            let leftover = entries.filter(|e| !held.contains(&*e.file_name().to_string_lossy()));
            let removed = leftover.filter(|e| std::fs::remove_dir_all(e.path()).is_ok());
            (users, removed.count())
        });
        ended.await.unwrap_or_default()
    }

    /// Where the logs of build `uuid` are served.
    pub fn log_url(&self, uuid: &str) -> String {
        format!("{}logs/{uuid}/", self.inner.settings.web_root)
    }
}

impl Inner {
    /// ansible-playbook, and the folders its sandbox must show for it to run.
    async fn ansible_playbook(&self) -> Result<(&Path, &[PathBuf]), ExecutorError> {
        // A failed install leaves the cell empty, so the next build retries it.
        let (path, dirs) = self
            .ansible
            .get_or_try_init(|| async {
                let settings = &self.settings;
                let path =
                    ensure_ansible(&settings.config.ansible_playbook, &settings.state_dir).await?;
                // The sandbox shows the venv's own folders, not a link to it.
                let path = std::fs::canonicalize(&path).unwrap_or(path);
                let dirs = sandbox::python_dirs(&path);
                Ok::<_, ExecutorError>((path, dirs))
            })
            .await?;
        Ok((path.as_path(), dirs.as_slice()))
    }
}

impl Executor for AnsibleExecutor {
    fn run(&self, request: BuildRequest, log: BuildLog) -> BoxFuture<'static, BuildOutcome> {
        let inner = self.inner.clone();
        let log_url = self.log_url(&request.uuid);
        let span = tracing::info_span!(
            "build",
            build.uuid = %request.uuid,
            tenant = %request.tenant,
            pipeline = %request.pipeline,
            job = %request.job.name,
        );
        async move { run_build(&inner, request, log, log_url).await }
            .instrument(span)
            .boxed()
    }
}

async fn run_build(
    inner: &Inner,
    request: BuildRequest,
    log: BuildLog,
    log_url: String,
) -> BuildOutcome {
    if !is_plain_name(&request.uuid) {
        return BuildOutcome::error(format!("build uuid `{}` is not a plain name", request.uuid));
    }
    let paths = BuildPaths::new(&inner.settings.state_dir, &request.uuid);
    let work_root = paths.work_root.clone();
    let mut work_dir = WorkDirCleanup(Some(paths.build_dir.clone()));
    let output = match JobOutput::create(&paths.log_root, log).await {
        Ok(output) => output,
        Err(e) => {
            return BuildOutcome::error(format!(
                "creating {}: {e}",
                paths.log_root.join("job-output.txt").display()
            ))
        }
    };
    output.line(&format!(
        "Job {} build {} starting",
        request.job.name, request.uuid
    ));
    let (result, error_detail) = match with_nodes(inner, &request, paths, &output).await {
        Ok(result) => (result, None),
        Err(e) => {
            output.line(&format!("ERROR: {e}"));
            (e.result(), Some(e.to_string()))
        }
    };
    let data = match zuul_return::read(&work_root).await {
        Ok(data) => data,
        Err(e) => {
            output.line(&format!("WARNING: returned data ignored: {e}"));
            serde_json::Value::Null
        }
    };
    output.line(&format!("Build result: {result}"));
    if request.hold && result != BuildResult::Success {
        // An autohold request matched this failed build: its work dir stays
        // for a human to look at (the engine books the build as held).
        work_dir.0 = None;
    }
    work_dir.remove().await;
    output.close().await;
    BuildOutcome {
        result,
        error_detail,
        log_url: Some(log_url),
        data,
    }
}

/// Runs the build on nodes from the providers, released however it ends
/// (a dropped build releases them through the lease's own drop).
async fn with_nodes(
    inner: &Inner,
    request: &BuildRequest,
    paths: BuildPaths,
    output: &JobOutput,
) -> Result<BuildResult, ExecutorError> {
    // Node lines (pods coming up, tunnel restarts) go into the output as they happen.
    let sink = output.sink();
    let log: NodeLog = Arc::new(move |line: &str| sink.line(line));
    let mut lease = inner.nodes.acquire(request, log).await?;
    let result = execute(inner, request, paths, &lease, output).await;
    lease.release().await;
    result
}

async fn execute(
    inner: &Inner,
    request: &BuildRequest,
    paths: BuildPaths,
    lease: &NodeLease,
    output: &JobOutput,
) -> Result<BuildResult, ExecutorError> {
    let (ansible, python_dirs) = inner.ansible_playbook().await?;
    output.line("Preparing the workspace");
    let workspace = workspace::prepare(request, paths, inner.checkout.as_ref()).await?;
    let host_vars = lease.host_vars();
    let local_nodes = request
        .job
        .nodeset
        .nodes
        .iter()
        .filter(|node| !host_vars.contains_key(&node.name))
        .map(|node| node.name.as_str())
        .collect::<Vec<_>>()
        .join(",");
    vars::add_provider_nodes(&workspace.paths.inventory_file, host_vars)
        .await
        .map_err(|e| ExecutorError::Workspace(e.to_string()))?;
    zuul_return::install(&workspace.paths.ansible_dir)
        .await
        .map_err(|e| ExecutorError::Workspace(e.to_string()))?;
    let config = &inner.settings.config;
    let containment = Containment::prepare(Parts {
        paths: &workspace.paths,
        user: inner.users.take().ok_or(ExecutorError::NoUser)?,
        python_dirs,
        extra: &config.sandbox_paths,
        node_files: lease.sandbox_files(),
        limits: Limits {
            disk: config.disk_limit,
            output: config.output_limit,
            dirs: vec![
                workspace.paths.build_dir.clone(),
                workspace.paths.log_root.clone(),
            ],
        },
    })
    .await?;
    let runner = phase::Runner {
        ansible,
        workspace: &workspace,
        build_uuid: &request.uuid,
        timeout: request.job.timeout,
        containment: &containment,
        local_nodes,
    };
    runner.run_all(output).await
}

/// True when `name` can be one folder name: the uuid becomes part of paths.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0'])
}

/// Removes a build's folder when the build ends, however it ends; the log
/// dir stays for the web.
struct WorkDirCleanup(Option<PathBuf>);

impl WorkDirCleanup {
    async fn remove(&mut self) {
        if let Some(dir) = self.0.take() {
            // A leftover work dir is harmless; the log dir is what matters.
            let _ = tokio::fs::remove_dir_all(dir).await;
        }
    }
}

impl Drop for WorkDirCleanup {
    fn drop(&mut self) {
        // Only a dropped build gets here; its processes died first (they are
        // dropped before this guard), so blocking briefly is the price of not
        // leaking its checkouts.
        if let Some(dir) = self.0.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[cfg(test)]
mod tests;
