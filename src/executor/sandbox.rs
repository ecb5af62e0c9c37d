//! The sandbox every ansible-playbook of a build runs in, trusted or not:
//! Linux namespaces entered by the playbook's own process right before it
//! execs, the way bubblewrap does it for Zuul, with nothing to install.
//!
//! What a playbook (and every command it runs on a local node) sees:
//!
//! | path | how |
//! |---|---|
//! | `/usr`, `/etc`, `/bin`, `/sbin`, `/lib*` | the host's, read-only (`/etc/passwd` and `/etc/group` gain the build's user) |
//! | the Python and ansible-core that run the playbook | read-only |
//! | `zuul.executor.work_root` (`src/`, console logs, Ansible's temp dirs) | writable, owned by the build's user |
//! | `zuul.executor.log_root` | writable (sticky: job-output.txt stays the server's) |
//! | the build's ansible.cfg, inventory, vars and plugins; trusted and untrusted playbook checkouts | read-only |
//! | the running playbook's secrets file | read-only, only while that playbook runs |
//! | files a node provider needs (a pod's kubeconfig) | read-only |
//! | `trusted-*-paths` / `untrusted-*-paths` of the server config | as configured, for that context only |
//! | `/tmp`, `/dev/shm` | empty, private, size-limited |
//! | `/dev` | null, zero, full, random, urandom, tty only |
//! | `/proc` | only the build's own processes (`hidepid=invisible`) |
//!
//! Nothing else of the host exists inside: not the state dir (database,
//! keys, repos, other builds), not `/root` or `/home`, not the server's
//! environment (the playbook starts with a fresh one). Each build runs as a
//! user of its own (a uid no other build has while it runs) with no
//! capabilities and `no_new_privs`, so it cannot signal, trace or read
//! another build even through the shared network namespace, which is kept
//! (as in Zuul) because nodes and tunnels are reached over it.

mod enter;
mod users;

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use tokio::process::Command;

pub use users::{BuildUser, UserPool, USER_NAME};

use enter::Step;

/// One thing the sandbox shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    /// A host path, read-only, at the same path.
    ReadOnly(PathBuf),
    /// A host path, writable, at the same path.
    Writable(PathBuf),
    /// A host file shown read-only in place of another path.
    FileAt {
        /// The host file.
        from: PathBuf,
        /// Where the sandbox sees it.
        to: PathBuf,
    },
    /// An empty private tmpfs of at most `size` bytes.
    Tmpfs {
        /// Where.
        at: PathBuf,
        /// Its size limit.
        size: u64,
    },
}

/// How one playbook process is contained.
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// An empty host folder, the sandbox's `/` (a private tmpfs is put on it).
    pub root: PathBuf,
    /// The build's user.
    pub uid: u32,
    /// What the sandbox shows besides `/dev` and `/proc`, in any order.
    pub mounts: Vec<Mount>,
    /// The working folder inside.
    pub cwd: PathBuf,
}

/// The host folders every sandbox shows read-only (those that exist; a
/// symlink, as `/bin` on a merged-/usr system, is recreated as one).
const SYSTEM_DIRS: &[&str] = &[
    "/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
];

/// The device nodes a sandbox gets.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

impl Sandbox {
    /// Makes `command` enter this sandbox before it execs: from then on it
    /// sees only what [`Sandbox::mounts`] list, as the build's user.
    pub fn apply(&self, command: &mut Command) -> io::Result<()> {
        let steps = self.steps()?;
        let root = cstring(&self.root)?;
        let cwd = cstring(&self.cwd)?;
        let uid = self.uid;
        // SAFETY: the closure runs in the forked child before exec and only
        // makes system calls on data prepared here (no allocation, no locks).
        unsafe {
            command.pre_exec(move || enter::run(&root, &steps, &cwd, uid));
        }
        Ok(())
    }

    /// What the child does, in order: the system dirs first, then `/dev`,
    /// `/proc` and the rest, shallowest path first so that a mount inside
    /// another (the work dir inside `/tmp`) lands on top of it.
    fn steps(&self) -> io::Result<Vec<Step>> {
        let mut steps = Vec::new();
        for dir in SYSTEM_DIRS {
            let dir = Path::new(dir);
            match std::fs::symlink_metadata(dir) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    let target = std::fs::read_link(dir)?;
                    steps.push(Step::Symlink {
                        target: cstring(&target)?,
                        at: self.inside(dir)?,
                    });
                }
                Ok(meta) if meta.is_dir() => self.bind(&mut steps, dir, dir, true, true)?,
                _ => {}
            }
        }
        self.devices(&mut steps)?;
        let proc = Path::new("/proc");
        self.dirs_to(&mut steps, proc)?;
        steps.push(Step::Proc {
            at: self.inside(proc)?,
        });
        let mut mounts = self.mounts.clone();
        mounts.sort_by_key(|m| depth(mount_point(m)));
        for mount in &mounts {
            match mount {
                Mount::ReadOnly(path) => self.bind(&mut steps, path, path, true, true)?,
                Mount::Writable(path) => self.bind(&mut steps, path, path, true, false)?,
                Mount::FileAt { from, to } => self.bind(&mut steps, from, to, false, true)?,
                Mount::Tmpfs { at, size } => {
                    self.dirs_to(&mut steps, at)?;
                    steps.push(Step::Tmpfs {
                        at: self.inside(at)?,
                        options: CString::new(format!("mode=1777,size={size}"))?,
                    });
                }
            }
        }
        Ok(steps)
    }

    fn devices(&self, steps: &mut Vec<Step>) -> io::Result<()> {
        let dev = Path::new("/dev");
        self.dirs_to(steps, dev)?;
        steps.push(Step::Tmpfs {
            at: self.inside(dev)?,
            options: CString::new("mode=0755,size=65536")?,
        });
        for name in DEVICES {
            let node = dev.join(name);
            if node.exists() {
                steps.push(Step::File(self.inside(&node)?));
                // Device binds keep the host mount's flags: nodev would break them.
                steps.push(Step::Bind {
                    from: cstring(&node)?,
                    to: self.inside(&node)?,
                    read_only: false,
                    keep_flags: true,
                });
            }
        }
        for (name, target) in [
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        ] {
            steps.push(Step::Symlink {
                target: CString::new(target)?,
                at: self.inside(&dev.join(name))?,
            });
        }
        let shm = dev.join("shm");
        steps.push(Step::Dir(self.inside(&shm)?));
        steps.push(Step::Tmpfs {
            at: self.inside(&shm)?,
            options: CString::new("mode=1777,size=67108864")?,
        });
        Ok(())
    }

    /// Shows host path `from` at `to`: a folder (`dir`) or a file.
    fn bind(
        &self,
        steps: &mut Vec<Step>,
        from: &Path,
        to: &Path,
        dir: bool,
        read_only: bool,
    ) -> io::Result<()> {
        if let Some(parent) = to.parent() {
            self.dirs_to(steps, parent)?;
        }
        let at = self.inside(to)?;
        steps.push(if dir {
            Step::Dir(at.clone())
        } else {
            Step::File(at.clone())
        });
        steps.push(Step::Bind {
            from: cstring(from)?,
            to: at,
            read_only,
            keep_flags: false,
        });
        Ok(())
    }

    /// Creates `path` and each folder above it that the sandbox lacks.
    fn dirs_to(&self, steps: &mut Vec<Step>, path: &Path) -> io::Result<()> {
        let mut at = PathBuf::from("/");
        for part in path.components().skip(1) {
            at.push(part);
            steps.push(Step::Dir(self.inside(&at)?));
        }
        Ok(())
    }

    /// Where sandbox path `path` is on the host while the sandbox is built.
    fn inside(&self, path: &Path) -> io::Result<CString> {
        let relative = path.strip_prefix("/").map_err(|_| {
            io::Error::other(format!("sandbox path {} is not absolute", path.display()))
        })?;
        cstring(&self.root.join(relative))
    }
}

fn mount_point(mount: &Mount) -> &Path {
    match mount {
        Mount::ReadOnly(p) | Mount::Writable(p) => p,
        Mount::FileAt { to, .. } => to,
        Mount::Tmpfs { at, .. } => at,
    }
}

fn depth(path: &Path) -> usize {
    path.components().count()
}

fn cstring(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)
}

/// The host folders the Python behind `ansible_playbook` lives in: its venv
/// and the installation the venv was made from (`home` in pyvenv.cfg).
pub fn python_dirs(ansible_playbook: &Path) -> Vec<PathBuf> {
    let playbook = std::fs::canonicalize(ansible_playbook).unwrap_or(ansible_playbook.into());
    let Some(venv) = playbook.parent().and_then(Path::parent) else {
        return Vec::new();
    };
    let mut dirs = vec![venv.to_path_buf()];
    let config = std::fs::read_to_string(venv.join("pyvenv.cfg")).unwrap_or_default();
    let home = config.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "home").then(|| PathBuf::from(value.trim()))
    });
    if let Some(home) = home {
        let home = std::fs::canonicalize(&home).unwrap_or(home);
        // `home` is the installation's bin folder; its parent holds the stdlib.
        if let Some(prefix) = home.parent() {
            dirs.push(prefix.to_path_buf());
        }
    }
    dirs
}

#[cfg(test)]
mod tests;
