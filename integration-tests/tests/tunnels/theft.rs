//! A port taken by another program in a restart gap: the tunnel says so,
//! backs off instead of spinning, and forwards again once the port is free.

use std::net::SocketAddr;
use std::time::Duration;

use nix::sys::signal::Signal;
use portcullis_actors::tunnel::{ExitClass, TunnelState};
use portcullis_integration_tests::tunnel_harness::{
    announced_pause_ms, converse_once_up, serve_greeting, settings, within, Cluster, OpenTunnel,
    EVENT_DEADLINE,
};
use portcullis_integration_tests::wait;
use socket2::{Domain, Socket, Type};

// Zuul's loop fails this: every restart hits "address already in use" and
// `do :; done` runs kubectl again at once, 10 times a second, with nothing
// in any log until the job ends.
#[actix::test]
async fn a_port_taken_in_a_restart_gap_marks_the_tunnel_degraded_without_spinning() {
    within(60, async {
        // given a healthy forward whose restart pause leaves a gap
        let cluster = Cluster::start().await;
        serve_greeting(&cluster.pod("web").await).await;
        let mut settings = settings("1.32");
        settings.initial_backoff = Duration::from_millis(500);
        let floor = settings.unforwarded_min_backoff.as_millis() as u64;
        let mut tunnel = OpenTunnel::open(cluster.spec("web"), settings)
            .await
            .expect("tunnel up");
        // when kubectl dies and another program binds and listens on the port
        tunnel.kill_kubectl(Signal::SIGKILL).await;
        let thief = steal(tunnel.port).await;
        // then the next run's failure is reported as the port taken, the
        // tunnel is degraded, and the pause before the next try has not shrunk
        let ended = tunnel.log.until("kubectl run 2 ended").await;
        assert!(ended.contains("(port taken)"), "{ended}");
        assert!(announced_pause_ms(&ended) >= floor, "{ended}");
        tunnel
            .log
            .until("degraded: another process took the reserved port")
            .await;
        let status = tunnel.status().await;
        assert!(
            matches!(status.state, TunnelState::Degraded(_)),
            "{status:?}"
        );
        assert_eq!(status.exits.get(&ExitClass::PortTaken), Some(&1));
        // and once the port is free again it forwards by itself
        drop(thief);
        let (greeting, _) = converse_once_up(tunnel.port, "back").await;
        assert_eq!(greeting, "hello from web");
        tunnel.close().await;
    })
    .await;
}

/// Binds and listens on `port` with SO_REUSEADDR as soon as kubectl has let go of it.
async fn steal(port: u16) -> Socket {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    wait::until("the port to be stolen", EVENT_DEADLINE, || async {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).ok()?;
        socket.set_reuse_address(true).ok()?;
        socket.bind(&addr.into()).ok()?;
        socket.listen(1).ok()?;
        Some(socket)
    })
    .await
}
