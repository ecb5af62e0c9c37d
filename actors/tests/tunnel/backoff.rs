//! The restart pause by what the last run achieved: a run that forwarded and
//! died young comes back within the forwarded cap, one that never forwarded
//! waits at least the unforwarded floor. Asserted on the pause the loop
//! announces, not on a stopwatch.

use std::time::Duration;

use super::harness::{echo_pod, round_trip, Given};
use super::standin::Behaviour;

/// The pause a `kubectl run N ended … next run in X ms` line announces.
fn pause_ms(line: &str) -> u64 {
    let (_, rest) = line.rsplit_once("next run in ").expect(line);
    rest.trim_end_matches(" ms").parse().expect(line)
}

#[actix::test]
async fn an_eager_client_of_a_pod_that_refuses_never_pushes_the_pause_past_the_forwarded_cap() {
    // given a pod where nothing listens, and runs that die young
    let nothing_listens = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut given = Given::new(Behaviour::forwarding_to(nothing_listens), |s| {
        s.settle = Duration::from_secs(60);
        s.max_backoff = Duration::from_secs(30);
        s.forwarded_max_backoff = Duration::from_millis(100);
    });
    let tunnel = given.start().await.expect("tunnel");
    let port = tunnel
        .send(portcullis_actors::tunnel::GetTunnelState)
        .await
        .unwrap()
        .port;
    let mut pauses = Vec::new();
    for run in 1..=8 {
        // when a client connects as soon as each run forwards (the pod refuses it)
        given
            .log
            .until(&format!("kubectl run {run} forwarding"))
            .await;
        let _ = round_trip(port, b"v:0\n").await;
        let ended = given.log.until(&format!("kubectl run {run} ended")).await;
        assert!(ended.contains("(pod refused)"), "{ended}");
        pauses.push(pause_ms(&ended));
    }
    // then the pause doubles from the initial one but stops at the cap
    assert_eq!(pauses, [20, 40, 80, 100, 100, 100, 100, 100]);
}

#[actix::test]
async fn a_run_that_never_forwarded_waits_at_least_the_unforwarded_floor() {
    // given a healthy forward
    let mut given = Given::new(Behaviour::forwarding_to(echo_pod().await), |s| {
        s.unforwarded_min_backoff = Duration::from_millis(300);
    });
    let tunnel = given.start().await.expect("tunnel");
    let status = tunnel
        .send(portcullis_actors::tunnel::GetTunnelState)
        .await
        .unwrap();
    // when the pod goes and kubectl exits
    given.stand_in.delete_pod();
    super::sigkill(status.kubectl_pid.unwrap());
    let mut pauses = Vec::new();
    for run in 1..=3 {
        let ended = given.log.until(&format!("kubectl run {run} ended")).await;
        pauses.push(pause_ms(&ended));
    }
    // then the healthy run is retried after the initial pause, the runs
    // that found no pod after the floor, doubling
    assert_eq!(pauses, [20, 300, 600]);
}
