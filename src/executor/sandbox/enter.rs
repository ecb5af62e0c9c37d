//! The child's side of entering a sandbox: system calls only, on paths made
//! before the fork, since a forked child of a threaded server may not
//! allocate or take locks.

use std::ffi::{CStr, CString};
use std::io;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::sys::signal::Signal;
use nix::sys::stat::Mode;
use nix::unistd::{chdir, chroot, setgroups, setresgid, setresuid, Gid, Uid};

/// One step of building the sandbox's file system, on host paths under its root.
#[derive(Debug, Clone)]
pub enum Step {
    /// Creates a folder unless it exists.
    Dir(CString),
    /// Creates an empty file unless it exists (a mount point for a file).
    File(CString),
    /// Creates a symlink unless the path exists.
    Symlink {
        /// What it points to.
        target: CString,
        /// Where.
        at: CString,
    },
    /// Binds a host path onto a mount point.
    Bind {
        /// The host path.
        from: CString,
        /// The mount point.
        to: CString,
        /// Remounted read-only.
        read_only: bool,
        /// Left with the host mount's flags (device nodes need them).
        keep_flags: bool,
    },
    /// Mounts a private tmpfs.
    Tmpfs {
        /// The mount point.
        at: CString,
        /// Its mount options.
        options: CString,
    },
    /// Mounts a proc that shows only the caller's own processes.
    Proc {
        /// The mount point.
        at: CString,
    },
}

/// Enters the sandbox: a private mount namespace holding only what `steps`
/// build on a tmpfs at `root`, chrooted there in `cwd` as user `uid` with no
/// privileges left. Runs in the child between fork and exec.
pub fn run(root: &CStr, steps: &[Step], cwd: &CStr, uid: u32) -> io::Result<()> {
    unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWIPC | CloneFlags::CLONE_NEWUTS)
        .map_err(os)?;
    // Nothing mounted here may reach the host's namespace, and back.
    mount(
        None::<&CStr>,
        c"/",
        None::<&CStr>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&CStr>,
    )
    .map_err(os)?;
    mount(
        Some(c"tmpfs"),
        root,
        Some(c"tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(c"mode=0755,size=1048576"),
    )
    .map_err(os)?;
    for step in steps {
        apply(step)?;
    }
    chroot(root).map_err(os)?;
    chdir(cwd).map_err(os)?;
    let gid = Gid::from_raw(uid);
    setgroups(&[]).map_err(os)?;
    setresgid(gid, gid, gid).map_err(os)?;
    let user = Uid::from_raw(uid);
    // Leaving uid 0 drops every capability.
    setresuid(user, user, user).map_err(os)?;
    nix::sys::prctl::set_no_new_privs().map_err(os)?;
    // Set after the uid change, which clears it: the build dies with the server.
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(os)?;
    Ok(())
}

fn apply(step: &Step) -> io::Result<()> {
    match step {
        Step::Dir(at) => exists_ok(nix::unistd::mkdir(
            at.as_c_str(),
            Mode::from_bits_truncate(0o755),
        )),
        Step::File(at) => {
            let flags = OFlag::O_RDONLY | OFlag::O_CREAT | OFlag::O_CLOEXEC;
            match nix::fcntl::open(at.as_c_str(), flags, Mode::from_bits_truncate(0o644)) {
                Ok(fd) => nix::unistd::close(fd).map_err(os),
                Err(e) => exists_ok(Err(e)),
            }
        }
        Step::Symlink { target, at } => exists_ok(nix::unistd::symlinkat(
            target.as_c_str(),
            None,
            at.as_c_str(),
        )),
        Step::Bind {
            from,
            to,
            read_only,
            keep_flags,
        } => bind(from, to, *read_only, *keep_flags),
        Step::Tmpfs { at, options } => mount(
            Some(c"tmpfs"),
            at.as_c_str(),
            Some(c"tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some(options.as_c_str()),
        )
        .map_err(os),
        Step::Proc { at } => mount(
            Some(c"proc"),
            at.as_c_str(),
            Some(c"proc"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            Some(c"hidepid=invisible"),
        )
        .map_err(os),
    }
}

fn bind(from: &CStr, to: &CStr, read_only: bool, keep_flags: bool) -> io::Result<()> {
    let none = None::<&CStr>;
    mount(
        Some(from),
        to,
        none,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        none,
    )
    .map_err(os)?;
    if keep_flags {
        return Ok(());
    }
    let mut flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    if read_only {
        flags |= MsFlags::MS_RDONLY;
    }
    mount(none, to, none, flags, none).map_err(os)
}

fn exists_ok(result: nix::Result<()>) -> io::Result<()> {
    match result {
        Ok(()) | Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(os(e)),
    }
}

fn os(errno: Errno) -> io::Error {
    io::Error::from_raw_os_error(errno as i32)
}
