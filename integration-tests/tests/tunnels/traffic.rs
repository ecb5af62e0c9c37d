//! Many connections through one tunnel, and many tunnels side by side.

use futures_util::stream::{self, StreamExt};
use portcullis_integration_tests::tunnel_harness::{
    converse, round_trip, serve_echo, serve_greeting, settings, within, Cluster, OpenTunnel,
    EVENT_DEADLINE,
};
use portcullis_integration_tests::wait;

/// Connections in flight at once: modest, so two CI cores keep up.
const IN_FLIGHT: usize = 8;

// Zuul's loop fails this: it reads only kubectl's first line, so the
// `Handling connection for P` lines fill the 64 KiB pipe after about 2,175
// connections, kubectl blocks writing the next one, and every later
// connection hangs (measured with the real kubectl, tunnels.md §3).
on_kubectl!(ten_thousand_connections_through_one_tunnel_all_carry_their_bytes:
    kubectl_1_32 => "1.32");

async fn ten_thousand_connections_through_one_tunnel_all_carry_their_bytes(version: &str) {
    within(150, async {
        // given a pod that echoes, and a tunnel to it
        let cluster = Cluster::start().await;
        serve_echo(&cluster.pod("echo").await).await;
        let tunnel = OpenTunnel::open(cluster.spec("echo"), settings(version))
            .await
            .expect("tunnel up");
        let port = tunnel.port;
        // when 10,000 connections each send their own bytes through it
        let wrong: Vec<String> = stream::iter(0..10_000u32)
            .map(|n| async move {
                let payload = format!("s:{n}\n");
                match round_trip(port, payload.as_bytes()).await {
                    Ok(back) if back == payload.as_bytes() => None,
                    other => Some(format!("connection {n}: {other:?}")),
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .filter_map(|wrong| async move { wrong })
            .collect()
            .await;
        // then every one came back whole, through one kubectl run that
        // reported every connection (its output was read all along)
        assert!(
            wrong.is_empty(),
            "{} failed, first: {:?}",
            wrong.len(),
            &wrong[..wrong.len().min(5)]
        );
        let status = wait::until(
            "kubectl's 10,000 connection lines",
            EVENT_DEADLINE,
            || async {
                let status = tunnel.status().await;
                (status.connections == 10_000).then_some(status)
            },
        )
        .await;
        assert_eq!(status.runs, 1, "kubectl restarted: {status:?}");
        tunnel.close().await;
    })
    .await;
}

// Zuul's reservation also gives distinct ports (both sides use bind(0) with
// SO_REUSEADDR), so this guards ours against regressions rather than showing
// a difference; it would catch a tunnel that forwards a neighbour's pod, as
// Zuul's orphaned loops can (tunnels.md §3, weakness 5).
on_kubectl!(two_tunnels_to_two_pods_started_together_get_their_own_ports_and_pods:
    kubectl_1_32 => "1.32");

async fn two_tunnels_to_two_pods_started_together_get_their_own_ports_and_pods(version: &str) {
    within(150, async {
        // given two pods, each greeting with its own name
        let cluster = Cluster::start().await;
        serve_greeting(&cluster.pod("pod-a").await).await;
        serve_greeting(&cluster.pod("pod-b").await).await;
        for pair in 0..100 {
            // when a tunnel to each is started at the same time
            let (a, b) = tokio::join!(
                OpenTunnel::open(cluster.spec("pod-a"), settings(version)),
                OpenTunnel::open(cluster.spec("pod-b"), settings(version)),
            );
            let (a, b) = (a.expect("tunnel to pod-a"), b.expect("tunnel to pod-b"));
            // then their ports differ and each reaches only its own pod
            assert_ne!(a.port, b.port, "pair {pair}");
            let (to_a, to_b) = tokio::join!(converse(a.port, "a"), converse(b.port, "b"));
            let (to_a, to_b) = (to_a.expect("through a"), to_b.expect("through b"));
            assert_eq!(
                to_a,
                ("hello from pod-a".into(), "echo: a".into()),
                "pair {pair}"
            );
            assert_eq!(
                to_b,
                ("hello from pod-b".into(), "echo: b".into()),
                "pair {pair}"
            );
            tokio::join!(a.close(), b.close());
        }
    })
    .await;
}
