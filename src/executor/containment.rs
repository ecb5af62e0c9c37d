//! What contains one build: its own user, the sandbox each of its
//! playbooks runs in (see [`super::sandbox`] for what that shows), the
//! environment they start with, and its limits.

use std::path::{Path, PathBuf};

use portcullis_config::server::SandboxPaths;
use tokio::process::Command;

use super::limits::Limits;
use super::sandbox::{BuildUser, Mount, Sandbox};
use super::vars::BuildPaths;
use super::ExecutorError;

/// A build's containment, made once the workspace is ready.
pub struct Containment {
    /// The build's user.
    pub user: BuildUser,
    /// What the build may use up.
    pub limits: Limits,
    mounts_trusted: Vec<Mount>,
    mounts_untrusted: Vec<Mount>,
    root: PathBuf,
    work_root: PathBuf,
    path_var: String,
}

/// What a containment is made of.
pub struct Parts<'a> {
    /// The build's folders.
    pub paths: &'a BuildPaths,
    /// The build's user.
    pub user: BuildUser,
    /// The folders of the Python that runs ansible-playbook.
    pub python_dirs: &'a [PathBuf],
    /// The server config's extra paths.
    pub extra: &'a SandboxPaths,
    /// Host files the nodes need (a pod's kubeconfig).
    pub node_files: Vec<PathBuf>,
    /// The build's limits.
    pub limits: Limits,
}

impl Containment {
    /// Hands the build's writable dirs to its user and writes the files its
    /// sandbox shows in place of the host's (`/etc/passwd`, node files).
    pub async fn prepare(parts: Parts<'_>) -> Result<Containment, ExecutorError> {
        let Parts {
            paths,
            user,
            python_dirs,
            extra,
            node_files,
            limits,
        } = parts;
        let uid = user.uid;
        let root = paths.build_dir.join("root");
        let etc = paths.build_dir.join("etc");
        for dir in [&root, &etc] {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(workspace(dir))?;
        }
        let work = paths.work_root.clone();
        let log = paths.log_root.clone();
        tokio::task::spawn_blocking(move || hand_over(&work, &log, uid))
            .await
            .map_err(|e| ExecutorError::Workspace(e.to_string()))??;

        let home = paths.work_root.display().to_string();
        let mut common = vec![
            Mount::ReadOnly(paths.ansible_dir.clone()),
            Mount::Writable(paths.work_root.clone()),
            Mount::Writable(paths.log_root.clone()),
            Mount::Tmpfs {
                at: PathBuf::from("/tmp"),
                size: limits.disk,
            },
            etc_file(&etc, "passwd", user.passwd(&host_etc("passwd"), &home)).await?,
            etc_file(&etc, "group", user.group(&host_etc("group"))).await?,
        ];
        for dir in python_dirs.iter().filter(|d| !d.starts_with("/usr")) {
            common.push(Mount::ReadOnly(dir.clone()));
        }
        for context in ["trusted", "untrusted"] {
            let dir = paths.build_dir.join(context);
            if dir.exists() {
                common.push(Mount::ReadOnly(dir));
            }
        }
        let node_dir = paths.build_dir.join("node-files");
        // A bare program name (`kubectl`) is found on the PATH the sandbox shows.
        let absolute = node_files.iter().filter(|f| f.is_absolute());
        for (index, file) in absolute.enumerate() {
            common.push(node_file(&node_dir, index, file, uid).await?);
        }
        let with = |ro: &[PathBuf], rw: &[PathBuf]| {
            let mut mounts = common.clone();
            mounts.extend(ro.iter().cloned().map(Mount::ReadOnly));
            mounts.extend(rw.iter().cloned().map(Mount::Writable));
            mounts
        };
        let venv_bins = python_dirs
            .iter()
            .map(|d| d.join("bin").display().to_string());
        let path_var = venv_bins
            .chain(
                [
                    "/usr/local/sbin",
                    "/usr/local/bin",
                    "/usr/sbin",
                    "/usr/bin",
                    "/sbin",
                    "/bin",
                ]
                .map(String::from),
            )
            .collect::<Vec<_>>()
            .join(":");
        Ok(Containment {
            mounts_trusted: with(&extra.trusted_ro, &extra.trusted_rw),
            mounts_untrusted: with(&extra.untrusted_ro, &extra.untrusted_rw),
            user,
            limits,
            root,
            work_root: paths.work_root.clone(),
            path_var,
        })
    }

    /// Makes `command` (an ansible-playbook of this build) start with a fresh
    /// environment inside the sandbox of its context; `secrets` is the
    /// playbook's secrets file, shown to it alone.
    pub fn contain(
        &self,
        command: &mut Command,
        trusted: bool,
        secrets: Option<&Path>,
        local_nodes: &str,
    ) -> Result<(), ExecutorError> {
        let mut mounts = if trusted {
            self.mounts_trusted.clone()
        } else {
            self.mounts_untrusted.clone()
        };
        if let Some(file) = secrets {
            mounts.push(Mount::FileAt {
                from: file.to_path_buf(),
                to: file.to_path_buf(),
            });
        }
        let sandbox = Sandbox {
            root: self.root.clone(),
            uid: self.user.uid,
            mounts,
            cwd: self.work_root.clone(),
        };
        sandbox
            .apply(command)
            .map_err(|e| ExecutorError::Workspace(format!("preparing the sandbox: {e}")))?;
        command
            .env_clear()
            .env("PATH", &self.path_var)
            .env("HOME", &self.work_root)
            .env("USER", super::sandbox::USER_NAME)
            .env("LOGNAME", super::sandbox::USER_NAME)
            .env("LANG", "C.UTF-8")
            .env("TMPDIR", "/tmp")
            .env("PORTCULLIS_TRUSTED", if trusted { "1" } else { "0" })
            .env("PORTCULLIS_LOCAL_NODES", local_nodes);
        Ok(())
    }
}

fn workspace(path: &Path) -> impl Fn(std::io::Error) -> ExecutorError + '_ {
    move |e| ExecutorError::Workspace(format!("{}: {e}", path.display()))
}

fn host_etc(name: &str) -> String {
    std::fs::read_to_string(Path::new("/etc").join(name)).unwrap_or_default()
}

/// Writes `text` as the sandbox's `/etc/{name}`.
async fn etc_file(etc: &Path, name: &str, text: String) -> Result<Mount, ExecutorError> {
    let from = etc.join(name);
    tokio::fs::write(&from, text)
        .await
        .map_err(workspace(&from))?;
    Ok(Mount::FileAt {
        from,
        to: Path::new("/etc").join(name),
    })
}

/// Shows host file `file` at its own path: as it is when anyone may read it,
/// else as a copy only the build's user may read (a kubeconfig is often 0600).
async fn node_file(
    dir: &Path,
    index: usize,
    file: &Path,
    uid: u32,
) -> Result<Mount, ExecutorError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = tokio::fs::metadata(file).await.map_err(workspace(file))?;
    if !meta.is_file() {
        return Ok(Mount::ReadOnly(file.to_path_buf()));
    }
    if meta.permissions().mode() & 0o004 != 0 {
        return Ok(Mount::FileAt {
            from: file.to_path_buf(),
            to: file.to_path_buf(),
        });
    }
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(workspace(dir))?;
    let copy = dir.join(index.to_string());
    tokio::fs::copy(file, &copy)
        .await
        .map_err(workspace(&copy))?;
    std::os::unix::fs::lchown(&copy, Some(uid), Some(uid)).map_err(workspace(&copy))?;
    Ok(Mount::FileAt {
        from: copy,
        to: file.to_path_buf(),
    })
}

/// Gives the work dir to the build's user, and makes the log dir one where
/// the user may add files but not touch the server's (sticky, as /tmp).
fn hand_over(work: &Path, log: &Path, uid: u32) -> Result<(), ExecutorError> {
    use std::os::unix::fs::PermissionsExt;
    chown_tree(work, uid).map_err(workspace(work))?;
    std::fs::set_permissions(log, std::fs::Permissions::from_mode(0o1777)).map_err(workspace(log))
}

fn chown_tree(path: &Path, uid: u32) -> std::io::Result<()> {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid))?;
    if std::fs::symlink_metadata(path)?.is_dir() {
        for entry in std::fs::read_dir(path)? {
            chown_tree(&entry?.path(), uid)?;
        }
    }
    Ok(())
}
