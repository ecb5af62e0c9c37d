//! `kubectl port-forward` through the simulation, over SPDY and WebSocket.

use super::support::{converse, serve_echo, serve_greeting, within, Forward, Harness};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The portforward upgrades the API server accepted: (method, upgrade header).
fn accepted_forwards(h: &Harness) -> Vec<(String, String)> {
    h.sim
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/portforward") && r.status == 101)
        .map(|r| {
            (
                r.method.clone(),
                r.header("upgrade").unwrap_or_default().to_string(),
            )
        })
        .collect()
}

async fn forward_round_trip(h: &Harness, version: &str, env: &[(&str, &str)], pod: &str) {
    let mut cmd = h.kubectl(version);
    cmd.envs(env.iter().copied());
    let forward = Forward::start(cmd, pod).await;
    let (greeting, echo) = converse(forward.port, &format!("ping {version}")).await;
    assert_eq!(greeting, format!("hello from {pod}"), "kubectl {version}");
    assert_eq!(echo, format!("echo: ping {version}"), "kubectl {version}");
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_1_27_forwards_over_spdy_to_a_server_inside_the_pod() {
    within(60, async {
        // given a pod with a server on 19885
        let h = Harness::start().await;
        let pod = h.sim.add_pod("default", "web").await.unwrap();
        serve_greeting(&pod).await;
        // when kubectl 1.27 forwards to it and a client talks through
        forward_round_trip(&h, "1.27", &[], "web").await;
        // then bytes flowed both ways, over a SPDY/3.1 POST upgrade
        assert_eq!(accepted_forwards(&h), [("POST".into(), "SPDY/3.1".into())]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_1_32_forwards_over_spdy_inside_a_websocket() {
    within(60, async {
        // given a pod with a server on 19885
        let h = Harness::start().await;
        let pod = h.sim.add_pod("default", "web").await.unwrap();
        serve_greeting(&pod).await;
        // when kubectl 1.32 forwards to it
        forward_round_trip(&h, "1.32", &[], "web").await;
        // then it went through the WebSocket tunnel, with no SPDY fallback
        assert_eq!(accepted_forwards(&h), [("GET".into(), "websocket".into())]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_1_32_without_websockets_falls_back_to_the_spdy_post() {
    within(60, async {
        // given a pod with a server on 19885
        let h = Harness::start().await;
        let pod = h.sim.add_pod("default", "web").await.unwrap();
        serve_greeting(&pod).await;
        // when kubectl 1.32 forwards with WebSockets turned off
        forward_round_trip(
            &h,
            "1.32",
            &[("KUBECTL_PORT_FORWARD_WEBSOCKETS", "false")],
            "web",
        )
        .await;
        // then the SPDY POST carried it
        assert_eq!(accepted_forwards(&h), [("POST".into(), "SPDY/3.1".into())]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_pinned_kubectl_from_1_27_to_1_33_forwards_bytes_both_ways() {
    within(180, async {
        // given a pod with a server on 19885
        let h = Harness::start().await;
        let pod = h.sim.add_pod("default", "web").await.unwrap();
        serve_greeting(&pod).await;
        // when each pinned kubectl forwards to it, then each round trip succeeds
        for minor in 27..=33 {
            forward_round_trip(&h, &format!("1.{minor}"), &[], "web").await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_forwards_to_two_pods_on_the_same_port_each_reach_their_own_pod() {
    within(60, async {
        // given two pods, each listening on 19885
        let h = Harness::start().await;
        for name in ["pod-a", "pod-b"] {
            let pod = h.sim.add_pod("default", name).await.unwrap();
            serve_greeting(&pod).await;
        }
        // when one forward runs to each, at the same time
        let a = Forward::start(h.kubectl("1.32"), "pod-a").await;
        let b = Forward::start(h.kubectl("1.27"), "pod-b").await;
        // then each local port greets from its own pod, several times over
        for _ in 0..3 {
            assert_eq!(converse(a.port, "x").await.0, "hello from pod-a");
            assert_eq!(converse(b.port, "x").await.0, "hello from pod-b");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forward_to_a_pod_where_nothing_listens_loses_the_connection_and_exits_non_zero() {
    for version in ["1.27", "1.32"] {
        within(60, async {
            // given a running pod with nothing on 19885
            let h = Harness::start().await;
            h.sim.add_pod("default", "quiet").await.unwrap();
            let forward = Forward::start(h.kubectl(version), "quiet").await;
            // when a client connects through the forward
            let mut conn = TcpStream::connect(("127.0.0.1", forward.port))
                .await
                .unwrap();
            let mut buf = Vec::new();
            let read = conn.read_to_end(&mut buf).await;
            // then the client gets EOF, not a refusal, and kubectl exits 1 saying why
            assert!(matches!(read, Ok(0)), "kubectl {version}: {read:?} {buf:?}");
            let (code, stderr) = forward.exit().await;
            assert_eq!(code, 1, "kubectl {version}: {stderr}");
            assert!(
                stderr.contains("lost connection to pod"),
                "kubectl {version}: {stderr}"
            );
            assert!(
                stderr.contains("connection refused"),
                "kubectl {version}: {stderr}"
            );
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forward_to_a_pending_pod_is_refused_before_binding() {
    within(60, async {
        // given a pod that never runs
        let h = Harness::start().await;
        h.sim.add_pending_pod("default", "stuck").await.unwrap();
        // when kubectl tries to forward to it
        let (code, stdout, stderr) = h
            .run("1.32", &["port-forward", "pod/stuck", ":19885"])
            .await;
        // then it exits 1 naming the phase, and never printed a forwarding line
        assert_eq!(code, 1, "{stderr}");
        assert!(
            stderr.contains("pod is not running. Current status=Pending"),
            "{stderr}"
        );
        assert!(!stdout.contains("Forwarding from"), "{stdout}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn megabytes_pass_through_a_forward_intact_in_both_directions() {
    for version in ["1.27", "1.32"] {
        within(60, async {
            // given a pod that echoes every byte, and a forward to it
            let h = Harness::start().await;
            let pod = h.sim.add_pod("default", "echo").await.unwrap();
            serve_echo(&pod).await;
            let forward = Forward::start(h.kubectl(version), "echo").await;
            // when 4 MiB of patterned bytes are sent while the echo is read
            let sent: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 251) as u8).collect();
            let conn = TcpStream::connect(("127.0.0.1", forward.port))
                .await
                .unwrap();
            let (mut rd, mut wr) = conn.into_split();
            let payload = sent.clone();
            let writer = tokio::spawn(async move {
                wr.write_all(&payload).await.unwrap();
                wr.shutdown().await.unwrap();
            });
            let mut echoed = Vec::new();
            rd.read_to_end(&mut echoed).await.unwrap();
            writer.await.unwrap();
            // then every byte came back, in order
            assert_eq!(echoed.len(), sent.len(), "kubectl {version}");
            assert!(echoed == sent, "kubectl {version}: the echo differs");
        })
        .await;
    }
}
