//! What a tunnel forwards to, how it is supervised, and how starting it fails.

use std::fs::File;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::message::ExitClass;

/// The pod port zuul_console listens on.
pub const CONSOLE_PORT: u16 = 19885;

/// Which pod one tunnel forwards to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelSpec {
    /// The kubeconfig file kubectl reads.
    pub kubeconfig: PathBuf,
    /// The kubeconfig context.
    pub context: String,
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub pod: String,
    /// The pod port to forward to (zuul_console's 19885 by default).
    pub remote_port: u16,
    /// The build this tunnel serves, for logs (empty outside a build).
    pub build: String,
    /// kubectl's discovery cache (`KUBECACHEDIR`); a warm cache makes restarts faster.
    pub cache_dir: Option<PathBuf>,
}

impl TunnelSpec {
    /// A spec for `pod` in `namespace` on the console port, outside any build.
    pub fn new(
        kubeconfig: impl Into<PathBuf>,
        context: impl Into<String>,
        namespace: impl Into<String>,
        pod: impl Into<String>,
    ) -> Self {
        TunnelSpec {
            kubeconfig: kubeconfig.into(),
            context: context.into(),
            namespace: namespace.into(),
            pod: pod.into(),
            remote_port: CONSOLE_PORT,
            build: String::new(),
            cache_dir: None,
        }
    }

    /// `pod/NAME:PORT in NS`, as logs name the target.
    pub fn target(&self) -> String {
        format!(
            "pod/{}:{} in {}",
            self.pod, self.remote_port, self.namespace
        )
    }
}

/// How tunnels run kubectl and supervise it; one value serves a whole server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelSettings {
    /// The kubectl binary. Pin a versioned one: the image's `/usr/bin/kubectl`
    /// is gcloud's dispatcher, which first calls `GET /version` on every run.
    pub kubectl: PathBuf,
    /// The shell that runs the restart loop (bash: it needs `EPOCHREALTIME`).
    pub shell: PathBuf,
    /// Runs kubectl with a parent-death signal (util-linux `setpriv`), if present.
    pub setpriv: Option<PathBuf>,
    /// The first pause after kubectl exits, and the pause after a healthy run.
    pub initial_backoff: Duration,
    /// The longest pause between runs.
    pub max_backoff: Duration,
    /// How long a forwarding run must live for the backoff to reset.
    pub settle: Duration,
    /// The longest pause after a run that forwarded but died before
    /// `settle` (e.g. the pod refused an early connection): the pod answers
    /// and a client is about to connect again.
    pub forwarded_max_backoff: Duration,
    /// The shortest pause after a run that never forwarded (pod gone or not
    /// running, API server down, port taken): sooner only burns CPU.
    pub unforwarded_min_backoff: Duration,
    /// How long `Tunnel::start` waits for the first forward.
    pub ready_timeout: Duration,
    /// How long a stop waits after SIGTERM before it SIGKILLs the group.
    pub stop_grace: Duration,
    /// This server's marker: its tunnel processes carry
    /// `PORTCULLIS_TUNNEL=<instance>/<port>`, which `reap_leftover_tunnels`
    /// finds. A server sets it to something stable across its restarts (its
    /// state dir) so the next start can end what a crash left; the default
    /// (the pid) only suits one-off runs such as `portcullis tunnel`.
    pub instance: String,
}

/// The pinned kubectl of the image's Google Cloud CLI package.
pub const DEFAULT_KUBECTL: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32";

impl Default for TunnelSettings {
    fn default() -> Self {
        let setpriv = PathBuf::from("/usr/bin/setpriv");
        TunnelSettings {
            kubectl: PathBuf::from(DEFAULT_KUBECTL),
            shell: PathBuf::from("/bin/bash"),
            setpriv: setpriv.exists().then_some(setpriv),
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(30),
            settle: Duration::from_secs(1),
            forwarded_max_backoff: Duration::from_secs(1),
            unforwarded_min_backoff: Duration::from_millis(500),
            ready_timeout: Duration::from_secs(20),
            stop_grace: Duration::from_secs(2),
            instance: format!("portcullis-{}", std::process::id()),
        }
    }
}

/// Why a tunnel could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum TunnelError {
    /// No local port could be reserved.
    #[error("could not reserve a local port for the tunnel: {0}")]
    Reserve(#[source] std::io::Error),
    /// The restart loop could not be started.
    #[error("could not start the tunnel loop with {shell}: {source}", shell = .shell.display())]
    Spawn {
        /// The shell that failed to start.
        shell: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The first forward was not up in time, or the loop died first.
    #[error(
        "kubectl port-forward to {target} was not up on 127.0.0.1:{port} after {waited_ms} ms \
         (last exit: {last_exit}); kubectl said: {last_lines}",
        last_exit = last_exit.map_or("none", ExitClass::name),
        last_lines = if last_lines.is_empty() { "nothing".to_string() } else { last_lines.join(" | ") }
    )]
    NotReady {
        /// The target pod.
        target: String,
        /// The reserved local port.
        port: u16,
        /// How long start waited.
        waited_ms: u128,
        /// How the last kubectl run ended, if one did.
        last_exit: Option<ExitClass>,
        /// kubectl's last lines.
        last_lines: Vec<String>,
    },
    /// kubectl or the kubeconfig cannot be used; nothing was started.
    #[error("cannot use {what} {path}: {source}", path = .path.display())]
    Unusable {
        /// `kubectl` or `kubeconfig`.
        what: &'static str,
        /// The path given.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The actor stopped before it answered.
    #[error("the tunnel actor is gone: {0}")]
    Gone(#[from] actix::MailboxError),
}

/// Checks what no retry can fix, so that start fails at once instead of
/// after the readiness timeout: kubectl must be an executable file (a bare
/// name is looked up in PATH) and the kubeconfig a readable one.
pub(super) fn check_inputs(
    spec: &TunnelSpec,
    settings: &TunnelSettings,
) -> Result<(), TunnelError> {
    fn unusable(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> TunnelError {
        let path = path.to_path_buf();
        move |source| TunnelError::Unusable { what, path, source }
    }
    executable(&settings.kubectl).map_err(unusable("kubectl", &settings.kubectl))?;
    File::open(&spec.kubeconfig)
        .map(drop)
        .map_err(unusable("kubeconfig", &spec.kubeconfig))
}

fn executable(path: &Path) -> io::Result<()> {
    let found = if path.components().count() == 1 {
        std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join(path))
            .find(|candidate| candidate.is_file())
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "not found in PATH"))?
    } else {
        path.to_path_buf()
    };
    let meta = std::fs::metadata(found)?;
    if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "not an executable file",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_is_checked_by_path_or_looked_up_in_path() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "").unwrap();
        assert!(
            executable(Path::new("sh")).is_ok(),
            "a bare name is found in PATH"
        );
        assert!(executable(Path::new("/bin/sh")).is_ok());
        assert_eq!(
            executable(&plain).unwrap_err().kind(),
            io::ErrorKind::PermissionDenied
        );
        assert_eq!(
            executable(&dir.path().join("absent")).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert_eq!(
            executable(Path::new("no-such-kubectl-anywhere"))
                .unwrap_err()
                .kind(),
            io::ErrorKind::NotFound
        );
    }
}
