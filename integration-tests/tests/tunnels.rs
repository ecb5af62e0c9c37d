//! Tunnels on the simulated cluster with the REAL pinned kubectl (1.27 speaks
//! SPDY/3.1, 1.32 and 1.33 SPDY inside a WebSocket): the Tunnel actor and
//! `portcullis tunnel` keep a `kubectl port-forward` to a pod's 19885 alive
//! through every way kubectl exits, and leave nothing behind.
//!
//! Each scenario says in a comment how Zuul 14.3's plain
//! `while ! kubectl port-forward …; do :; done` loop would fare, and fails
//! against it where the behaviour differs.
//!
//! | module | what it proves |
//! |---|---|
//! | `recovery` | early connections, SIGKILL, exit 0: the forward comes back by itself |
//! | `traffic` | 10,000 connections through one tunnel; 100 pairs of tunnels to two pods |
//! | `stop` | stop leaves no process, frees the port, logs kubectl's last lines |
//! | `server_shutdown` | the real server with ten pod builds: SIGTERM gives all back; after SIGKILL the next start does |
//! | `bad_input` | a missing kubectl or kubeconfig, a pod that never runs: clear errors, no hang |
//! | `theft` | a port taken in a restart gap: degraded, no spin, back once free |
//! | `cli` | `portcullis tunnel`: port on the first line, SIGTERM exits 0, SIGKILL leaves nothing |
//! | `real_cluster` | opt-in: the same against a real pod (`PORTCULLIS_TEST_POD_*`) |

/// Defines `mod $scenario` with one test per kubectl version, each running
/// `$scenario(version)`: `kubectl_1_32` is `tunnels::<module>::<scenario>::kubectl_1_32`.
macro_rules! on_kubectl {
    ($scenario:ident: $($test:ident => $version:expr),+ $(,)?) => {
        mod $scenario {
            $(
                #[actix::test]
                async fn $test() {
                    super::$scenario($version).await
                }
            )+
        }
    };
}

mod bad_input;
mod cli;
mod real_cluster;
mod recovery;
mod server_shutdown;
mod stop;
mod theft;
mod traffic;
