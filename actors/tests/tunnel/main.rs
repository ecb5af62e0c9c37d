//! Tunnel scenarios against a kubectl stand-in (fast tier): the real actor,
//! the real bash loop, real processes and sockets; only kubectl is a stand-in.

mod backoff;
mod harness;
mod lifecycle;
mod standin;

use std::time::{Duration, Instant};

use harness::{echo_pod, round_trip, Given, EVENT_DEADLINE};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use portcullis_actors::tunnel::{ExitClass, GetTunnelState, TunnelState};
use socket2::{Domain, Socket, Type};
use standin::Behaviour;

/// Binds 127.0.0.1:port the way an unrelated program would: no SO_REUSEADDR.
fn plain_bind(port: u16) -> std::io::Result<Socket> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], port)).into())?;
    Ok(socket)
}

fn sigkill(pid: u32) {
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).expect("kill kubectl");
}

#[actix::test]
async fn the_port_is_reserved_before_kubectl_runs_and_two_tunnels_get_different_ports() {
    let pod = echo_pod().await;
    let mut first = Given::new(Behaviour::forwarding_to(pod), |_| {});
    let mut second = Given::new(Behaviour::forwarding_to(pod), |_| {});

    let a = first.start().await.expect("first tunnel");
    let b = second.start().await.expect("second tunnel");

    let (a_port, b_port) = (
        a.send(GetTunnelState).await.unwrap().port,
        b.send(GetTunnelState).await.unwrap().port,
    );
    assert_ne!(a_port, b_port);
    let starts = first.stand_in.starts();
    assert_eq!(starts.len(), 1, "{starts:?}");
    assert!(
        starts[0].ends_with(&format!("port={a_port} reserved=yes")),
        "kubectl saw the port unreserved: {starts:?}"
    );
    assert!(
        plain_bind(a_port).is_err(),
        "a plain bind got the tunnel's port"
    );
}

#[actix::test]
async fn bytes_flow_through_the_reserved_port_to_the_pod() {
    let mut given = Given::new(Behaviour::forwarding_to(echo_pod().await), |_| {});
    let tunnel = given.start().await.expect("tunnel");
    let port = tunnel.send(GetTunnelState).await.unwrap().port;

    let back = round_trip(port, b"v:0\n").await.expect("round trip");

    assert_eq!(back, b"v:0\n");
    let status = tunnel.send(GetTunnelState).await.unwrap();
    assert_eq!(status.state, TunnelState::Up);
    assert_eq!(status.connections, 1);
}

#[actix::test]
async fn kubectl_killed_with_sigkill_comes_back_quickly_each_time() {
    let mut given = Given::new(Behaviour::forwarding_to(echo_pod().await), |_| {});
    let tunnel = given.start().await.expect("tunnel");
    let mut latencies = Vec::new();

    for run in 2..=11 {
        let status = tunnel.send(GetTunnelState).await.unwrap();
        let killed = Instant::now();
        sigkill(status.kubectl_pid.expect("kubectl runs"));
        given
            .log
            .until(&format!("kubectl run {run} forwarding"))
            .await;
        latencies.push(killed.elapsed());
    }

    latencies.sort();
    println!(
        "restart latency after SIGKILL (stand-in, initial backoff 20 ms): p50 {:?}, max {:?}",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
    assert!(
        latencies.iter().all(|l| *l < Duration::from_secs(1)),
        "{latencies:?}"
    );
    let status = tunnel.send(GetTunnelState).await.unwrap();
    assert_eq!(status.restarts, 10);
    assert_eq!(status.exits.get(&ExitClass::Killed), Some(&10));
    assert_eq!(
        round_trip(status.port, b"still here").await.unwrap(),
        b"still here"
    );
}

#[actix::test]
async fn a_kubectl_that_exits_0_after_a_lost_connection_is_restarted_too() {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let behaviour = Behaviour {
        exit_zero: true,
        ..Behaviour::forwarding_to(closed_port)
    };
    let mut given = Given::new(behaviour, |_| {});
    let tunnel = given.start().await.expect("tunnel");
    let port = tunnel.send(GetTunnelState).await.unwrap().port;

    // EOF or a reset: the stand-in closes the client without reading it.
    let back = round_trip(port, b"v:0\n").await.unwrap_or_default();
    given.log.until("kubectl run 1 ended after").await;
    given.log.until("kubectl run 2 forwarding").await;

    assert!(back.is_empty(), "a refused pod port reads as EOF");
    let status = tunnel.send(GetTunnelState).await.unwrap();
    assert_eq!(status.exits.get(&ExitClass::PodRefused), Some(&1));
    assert!(given
        .log
        .drain()
        .iter()
        .any(|l| l.contains("with status 0 (pod refused)")));
}

#[actix::test]
async fn a_forward_started_before_the_pod_listens_recovers_once_it_listens() {
    let early = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let pod = early.local_addr().unwrap();
    drop(early);
    let mut given = Given::new(Behaviour::forwarding_to(pod), |_| {});
    let tunnel = given.start().await.expect("tunnel");
    let port = tunnel.send(GetTunnelState).await.unwrap().port;
    assert!(round_trip(port, b"early")
        .await
        .unwrap_or_default()
        .is_empty());
    // The refused forward must be over before the pod listens, or a late
    // forwarding thread of the stand-in could still reach the new listener.
    given.log.until("kubectl run 1 ended").await;

    let listener = tokio::net::TcpListener::bind(pod)
        .await
        .expect("pod listens");
    actix::spawn(harness::serve_echo(listener));

    let deadline = Instant::now() + EVENT_DEADLINE;
    loop {
        match round_trip(port, b"late").await {
            Ok(back) if back == b"late" => break,
            _ if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => panic!("never recovered: {other:?}"),
        }
    }
    let status = tunnel.send(GetTunnelState).await.unwrap();
    assert!(
        status.exits.get(&ExitClass::PodRefused) >= Some(&1),
        "{status:?}"
    );
}

#[actix::test]
async fn ten_thousand_connections_through_one_tunnel_all_carry_their_bytes() {
    let mut given = Given::new(Behaviour::forwarding_to(echo_pod().await), |_| {});
    let tunnel = given.start().await.expect("tunnel");
    let port = tunnel.send(GetTunnelState).await.unwrap().port;
    let began = Instant::now();

    for n in 0..10_000u32 {
        let payload = format!("s:{n}\n");
        let back = round_trip(port, payload.as_bytes()).await;
        assert_eq!(
            back.ok().as_deref(),
            Some(payload.as_bytes()),
            "connection {n}"
        );
    }

    println!(
        "10,000 round trips through one tunnel in {:?}",
        began.elapsed()
    );
    let status = tunnel.send(GetTunnelState).await.unwrap();
    assert_eq!(status.connections, 10_000);
    assert_eq!(status.runs, 1, "kubectl never restarted: {status:?}");
}

#[actix::test]
async fn a_port_taken_by_another_listener_marks_the_tunnel_degraded() {
    let behaviour = Behaviour::forwarding_to(echo_pod().await);
    let mut given = Given::new(behaviour, |s| {
        s.initial_backoff = Duration::from_millis(500)
    });
    let tunnel = given.start().await.expect("tunnel");
    let status = tunnel.send(GetTunnelState).await.unwrap();

    sigkill(status.kubectl_pid.expect("kubectl runs"));
    let thief = steal(status.port).await;
    given
        .log
        .until("degraded: another process took the reserved port")
        .await;

    let degraded = tunnel.send(GetTunnelState).await.unwrap();
    assert!(
        matches!(degraded.state, TunnelState::Degraded(_)),
        "{degraded:?}"
    );
    assert_eq!(degraded.exits.get(&ExitClass::PortTaken), Some(&1));
    drop(thief);
    given.log.until("forwarding 127.0.0.1").await;
    assert_eq!(
        tunnel.send(GetTunnelState).await.unwrap().state,
        TunnelState::Up
    );
}

/// Binds and listens on `port` with SO_REUSEADDR, as soon as kubectl has let go of it.
async fn steal(port: u16) -> Socket {
    let deadline = Instant::now() + EVENT_DEADLINE;
    loop {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        socket.set_reuse_address(true).unwrap();
        let bound = socket.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], port)).into());
        if bound.and_then(|()| socket.listen(1)).is_ok() {
            return socket;
        }
        assert!(Instant::now() < deadline, "kubectl never let go of {port}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
