//! The real `portcullis serve` and its stop signals: one that arrives while
//! the server is still starting ends in the same clean stop as one that
//! arrives once it serves, not in the signal's default action.

use std::time::Duration;

use nix::sys::signal::Signal;
use portcullis_integration_tests::tunnel_harness::{kubectl, within, Cluster, DEFAULT_KUBECTL};
use portcullis_integration_tests::{Scenario, TestServer};
use tokio::net::TcpListener;

/// How long a signalled server may take to finish starting and exit.
const EXIT_BOUND: Duration = Duration::from_secs(30);

#[actix::test]
async fn a_sigterm_while_the_server_starts_still_ends_in_a_clean_stop() {
    within(120, async {
        // Given a server whose start waits on a Kubernetes API that accepts
        // its connection and does not answer
        let held = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let cluster = Cluster::start().await;
        let kubeconfig = cluster.kubeconfig.with_file_name("held-kubeconfig");
        let text = std::fs::read_to_string(&cluster.kubeconfig).unwrap();
        let held_url = format!("http://{}", held.local_addr().unwrap());
        std::fs::write(&kubeconfig, text.replace(&cluster.sim.api_url(), &held_url)).unwrap();
        let provider = cluster
            .provider_yaml(&kubectl(DEFAULT_KUBECTL), 60)
            .replace(
                &cluster.kubeconfig.display().to_string(),
                &kubeconfig.display().to_string(),
            );
        let mut server = TestServer::prepare(Scenario {
            server_extra: provider,
            ..Scenario::default()
        })
        .await;
        server.spawn();
        let (asked, _) = held
            .accept()
            .await
            .expect("the start's sweep for leftovers");

        // When it gets SIGTERM while it waits, and the API then hangs up
        server.signal(Signal::SIGTERM);
        drop(asked);
        drop(held);

        // Then it finishes starting, stops as asked and exits 0
        let status = server
            .exit_within(EXIT_BOUND)
            .await
            .unwrap_or_else(|| panic!("no exit within {EXIT_BOUND:?}:\n{}", server.log()));
        let log = server.log();
        assert!(status.success(), "{status}:\n{log}");
        assert!(log.contains("stop signal received"), "{log}");
    })
    .await;
}
