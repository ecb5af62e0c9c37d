//! A kubectl stand-in per test: a wrapper script that runs
//! `kubectl_standin.py` (see its header: what it mimics of kubectl
//! port-forward) with this test's target, pod and switches baked in.

use std::fs;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The stand-in's Python source.
const STANDIN_PY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/tunnel/kubectl_standin.py"
);

/// How one stand-in behaves.
#[derive(Debug, Clone)]
pub struct Behaviour {
    /// Where each forwarded connection goes (the pod's console port).
    pub target: SocketAddr,
    /// Exit 0 instead of 1 on a failed forward (kubectl 1.23–1.26).
    pub exit_zero: bool,
    /// Delay before the pod lookup and the bind.
    pub delay_ms: u64,
}

impl Behaviour {
    /// Forwards to `target`, exits 1 on a failed forward, no delay.
    pub fn forwarding_to(target: SocketAddr) -> Behaviour {
        Behaviour {
            target,
            exit_zero: false,
            delay_ms: 0,
        }
    }
}

/// A generated `kubectl` in its own temporary directory.
pub struct StandIn {
    dir: tempfile::TempDir,
    /// The executable to configure as kubectl.
    pub kubectl: PathBuf,
}

impl StandIn {
    /// Writes the wrapper; the pod exists until `delete_pod`.
    pub fn new(behaviour: &Behaviour) -> StandIn {
        let dir = tempfile::tempdir().expect("temp dir");
        let kubectl = dir.path().join("kubectl");
        let pod = dir.path().join("pod");
        fs::write(&pod, "Running\n").expect("pod file");
        fs::write(dir.path().join("kubeconfig"), "").expect("kubeconfig");
        let script = format!(
            "#!/bin/sh\n\
             # A stand-in for kubectl port-forward: see {STANDIN_PY}.\n\
             export STANDIN_TARGET={target} STANDIN_EXIT_ZERO={zero} STANDIN_DELAY_MS={delay}\n\
             export STANDIN_POD_FILE={pod} STANDIN_LOG={log}\n\
             exec {python} {STANDIN_PY} \"$@\"\n",
            target = behaviour.target,
            zero = u8::from(behaviour.exit_zero),
            delay = behaviour.delay_ms,
            pod = pod.display(),
            log = dir.path().join("starts.log").display(),
            python = python().display(),
        );
        fs::write(&kubectl, script).expect("write stand-in");
        fs::set_permissions(&kubectl, fs::Permissions::from_mode(0o755)).expect("chmod");
        StandIn { dir, kubectl }
    }

    /// Makes every later run fail its pod lookup with NotFound.
    pub fn delete_pod(&self) {
        fs::remove_file(self.dir.path().join("pod")).expect("delete pod file");
    }

    /// One line per start: `start pid=N port=P reserved=yes|no`.
    pub fn starts(&self) -> Vec<String> {
        fs::read_to_string(self.dir.path().join("starts.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// An empty kubeconfig to pass along (the stand-in never reads it).
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }
}

/// The system's python3 directly: a pyenv shim would add a second of startup.
fn python() -> &'static Path {
    let system = Path::new("/usr/bin/python3");
    if system.exists() {
        system
    } else {
        Path::new("python3")
    }
}
