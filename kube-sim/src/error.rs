//! The errors the simulation's public API returns.

/// What went wrong while driving the simulated cluster.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// An `ip` command failed (not root, no iproute2, name clash).
    #[error("ip {args}: {stderr}")]
    Ip {
        /// The arguments given to `ip`.
        args: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A system call or process spawn failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The pod does not exist (any more).
    #[error("pod {namespace}/{name} not found")]
    PodNotFound {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// The pod exists but has no network namespace: it is not running.
    #[error("pod {namespace}/{name} is not running")]
    PodNotRunning {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// A pod or namespace of that name exists already.
    #[error("{0} already exists")]
    AlreadyExists(String),
}
