//! Opt-in: a tunnel to a real pod. Set PORTCULLIS_TEST_POD_KUBECONFIG,
//! PORTCULLIS_TEST_POD_CONTEXT, PORTCULLIS_TEST_POD_NAMESPACE and
//! PORTCULLIS_TEST_POD_NAME (and optionally PORTCULLIS_TEST_POD_KUBECTL, a
//! kubectl binary; default: the server's pinned one). Unset, it is skipped
//! with a message, the only skip among the tunnel tests.

use nix::sys::signal::Signal;
use portcullis_actors::tunnel::{live_group_members, marked_processes, TunnelSettings, TunnelSpec};
use portcullis_integration_tests::tunnel_harness::{
    plain_bind, round_trip, serve_greeting, settings, within, Cluster, OpenTunnel, DEFAULT_KUBECTL,
};

const VARS: [&str; 4] = [
    "PORTCULLIS_TEST_POD_KUBECONFIG",
    "PORTCULLIS_TEST_POD_CONTEXT",
    "PORTCULLIS_TEST_POD_NAMESPACE",
    "PORTCULLIS_TEST_POD_NAME",
];

/// The pod the variables name; `None` when none is set; a panic when only some are.
fn real_pod() -> Option<TunnelSpec> {
    let values: [Option<String>; 4] = VARS.map(|v| std::env::var(v).ok());
    if values.iter().all(Option::is_none) {
        return None;
    }
    let missing: Vec<&str> = VARS
        .iter()
        .zip(&values)
        .filter_map(|(name, value)| value.is_none().then_some(*name))
        .collect();
    assert!(
        missing.is_empty(),
        "set all four PORTCULLIS_TEST_POD_* variables; missing: {missing:?}"
    );
    let [kubeconfig, context, namespace, pod] = values.map(Option::unwrap_or_default);
    Some(TunnelSpec::new(kubeconfig, context, namespace, pod))
}

// Zuul's loop would pass the SIGKILL step (status 137 restarts it) but not
// the stop checks' log part; see `stop` for the differences.
#[actix::test]
async fn a_tunnel_to_a_real_pod_comes_back_after_sigkill_and_stops_cleanly() {
    let Some(spec) = real_pod() else {
        println!(
            "SKIPPED a_tunnel_to_a_real_pod…: no real cluster here; set {} to run it",
            VARS.join(", ")
        );
        return;
    };
    let mut settings = settings(DEFAULT_KUBECTL);
    if let Ok(kubectl) = std::env::var("PORTCULLIS_TEST_POD_KUBECTL") {
        settings.kubectl = kubectl.into();
    }
    within(
        120,
        comes_back_after_sigkill_and_stops_cleanly(spec, settings),
    )
    .await;
}

/// Keeps the opt-in scenario honest where no real cluster is: the same steps
/// against a simulated pod.
#[actix::test]
async fn the_real_pod_scenario_passes_against_a_simulated_pod() {
    let cluster = Cluster::start().await;
    serve_greeting(&cluster.pod("real").await).await;
    let scenario =
        comes_back_after_sigkill_and_stops_cleanly(cluster.spec("real"), settings(DEFAULT_KUBECTL));
    within(60, scenario).await;
}

async fn comes_back_after_sigkill_and_stops_cleanly(spec: TunnelSpec, settings: TunnelSettings) {
    // given a tunnel to the pod
    let mut tunnel = OpenTunnel::open(spec, settings).await.expect("tunnel up");
    // when kubectl is SIGKILLed
    tunnel.kill_kubectl(Signal::SIGKILL).await;
    // then the next run forwards the same port again
    tunnel.log.until("kubectl run 2 forwarding").await;
    let status = tunnel.status().await;
    assert_eq!(status.port, tunnel.port);
    // and a connection is accepted (whatever the pod serves on 19885)
    let _ = round_trip(tunnel.port, b"v:0\n").await;
    // and once stopped nothing is left and the port is free
    tunnel.close().await;
    assert_eq!(
        live_group_members(status.pgid.expect("group")),
        Vec::<u32>::new()
    );
    assert_eq!(marked_processes(&tunnel.marker), Vec::<u32>::new());
    plain_bind(tunnel.port).expect("the port is free again");
}
