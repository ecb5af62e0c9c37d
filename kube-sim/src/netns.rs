//! Pods as Linux network namespaces: each has its own loopback, so every pod
//! can listen on 127.0.0.1:19885 at once.

use crate::error::SimError;
use nix::sched::CloneFlags;
use std::io;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use tokio::sync::oneshot;

const NETNS_DIR: &str = "/var/run/netns";
/// Every namespace this crate makes starts with this, then the owning pid.
const PREFIX: &str = "ks-";
static SEQ: AtomicU32 = AtomicU32::new(0);

/// One network namespace, deleted (with every process in it) on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
    destroyed: AtomicBool,
}

/// Why a dial into a pod failed, worded like containerd's message.
#[derive(Debug, thiserror::Error)]
#[error(
    "failed to connect to localhost:{port} inside namespace \"{netns}\", \
     IPv4: dial tcp4 127.0.0.1:{port}: connect: {ipv4} IPv6 dial tcp6 [::1]:{port}: connect: {ipv6} "
)]
pub struct DialError {
    netns: String,
    port: u16,
    ipv4: String,
    ipv6: String,
}

impl Netns {
    /// Creates a namespace named after `label` (made unique per process and
    /// call) with its loopback up.
    pub fn create(label: &str) -> Result<Self, SimError> {
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let name = format!("{PREFIX}{}-{seq}-{}", std::process::id(), sanitize(label));
        ip(&["netns", "add", &name])?;
        let netns = Netns {
            name,
            destroyed: AtomicBool::new(false),
        };
        ip(&["-n", &netns.name, "link", "set", "lo", "up"])?;
        Ok(netns)
    }

    /// The name `ip netns` knows it by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its bind mount, the handle `setns` takes.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(NETNS_DIR).join(&self.name)
    }

    /// Processes currently inside.
    pub fn pids(&self) -> Vec<i32> {
        pids_in(&self.name)
    }

    /// Kills every process inside and deletes the namespace; idempotent.
    pub fn destroy(&self) {
        if !self.destroyed.swap(true, Ordering::SeqCst) {
            destroy_by_name(&self.name);
        }
    }

    /// Runs `f` on a fresh thread that has entered the namespace; the thread
    /// then exits, so no pooled thread is ever left inside a pod.
    pub async fn run_inside<T, F>(&self, f: F) -> io::Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> io::Result<T> + Send + 'static,
    {
        let path = self.path();
        let (tx, rx) = oneshot::channel();
        std::thread::Builder::new()
            .name("kube-sim-netns".into())
            .spawn(move || {
                let entered = std::fs::File::open(&path).and_then(|file| {
                    nix::sched::setns(&file, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)
                });
                let _ = tx.send(entered.and_then(|()| f()));
            })?;
        rx.await
            .map_err(|_| io::Error::other("netns thread ended without an answer"))?
    }

    /// Connects to `port` on the pod's loopback, IPv4 first, as containerd does.
    pub async fn connect(&self, port: u16) -> Result<tokio::net::TcpStream, DialError> {
        let netns = self.name.clone();
        let attempt = self
            .run_inside(move || {
                let v4 = std::net::TcpStream::connect(("127.0.0.1", port));
                let v4_err = match v4 {
                    Ok(s) => return Ok(Ok(s)),
                    Err(e) => go_error(&e),
                };
                Ok(std::net::TcpStream::connect(("::1", port)).map_err(|e| (v4_err, go_error(&e))))
            })
            .await;
        let (ipv4, ipv6) = match attempt {
            Ok(Ok(stream)) => match into_tokio(stream) {
                Ok(s) => return Ok(s),
                Err(e) => (go_error(&e), go_error(&e)),
            },
            Ok(Err(errors)) => errors,
            Err(e) => (go_error(&e), go_error(&e)),
        };
        Err(DialError {
            netns,
            port,
            ipv4,
            ipv6,
        })
    }

    /// Binds and listens on `addr` inside the namespace.
    pub async fn listen(&self, addr: std::net::SocketAddr) -> io::Result<tokio::net::TcpListener> {
        let std = self
            .run_inside(move || std::net::TcpListener::bind(addr))
            .await?;
        std.set_nonblocking(true)?;
        tokio::net::TcpListener::from_std(std)
    }

    /// `ip netns exec NAME program`, killed if dropped.
    pub fn command(&self, program: &str) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new("ip");
        cmd.args(["netns", "exec", &self.name, program])
            .kill_on_drop(true);
        cmd
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        self.destroy();
    }
}

fn into_tokio(stream: std::net::TcpStream) -> io::Result<tokio::net::TcpStream> {
    stream.set_nonblocking(true)?;
    tokio::net::TcpStream::from_std(stream)
}

/// Go's wording for the common failures, so kubectl output looks familiar.
fn go_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        _ => e.to_string(),
    }
}

fn sanitize(label: &str) -> String {
    label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(20)
        .collect()
}

fn ip(args: &[&str]) -> Result<(), SimError> {
    let out = Command::new("ip").args(args).output()?;
    if out.status.success() {
        return Ok(());
    }
    Err(SimError::Ip {
        args: args.join(" "),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    })
}

fn pids_in(name: &str) -> Vec<i32> {
    Command::new("ip")
        .args(["netns", "pids", name])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn destroy_by_name(name: &str) {
    // A few rounds catch children forked while the first kills land; the
    // namespace itself lives on until its last process is gone, so nothing
    // here needs to wait for the processes to die.
    for _ in 0..3 {
        let pids = pids_in(name);
        if pids.is_empty() {
            break;
        }
        for pid in pids {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    if let Err(e) = ip(&["netns", "del", name]) {
        eprintln!("kube-sim: could not delete netns {name}: {e}");
    }
}

/// Deletes namespaces left by earlier test processes that died before they
/// could clean up (SIGKILL, a timeout): their owning pid no longer exists.
pub fn sweep_stale() {
    let Ok(dir) = std::fs::read_dir(NETNS_DIR) else {
        return;
    };
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if !PathBuf::from("/proc").join(pid).exists() {
            destroy_by_name(&name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_become_short_names_safe_for_ip_netns() {
        // given a pod name with dots and a great length
        let label = "my.pod.with.a.very-long-name";
        // when sanitised, then it keeps 20 safe characters
        assert_eq!(sanitize(label), "my-pod-with-a-very-l");
    }
}
