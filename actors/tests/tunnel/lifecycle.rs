//! How tunnels start, fail, back off and stop, and what they leave behind.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::Command;
use std::time::{Duration, Instant};

use portcullis_actors::tunnel::{
    live_group_members, marked_processes, reap_leftover_tunnels, CloseReason, CloseTunnel,
    ExitClass, GetTunnelState, TunnelError, MARKER_VAR,
};

use super::harness::{echo_pod, Given, EVENT_DEADLINE};
use super::plain_bind;
use super::standin::Behaviour;

#[actix::test]
async fn after_stop_no_process_is_left_the_port_is_free_and_kubectls_last_lines_are_logged() {
    let mut given = Given::new(Behaviour::forwarding_to(echo_pod().await), |_| {});
    let tunnel = given.start().await.expect("tunnel");
    let status = tunnel.send(GetTunnelState).await.unwrap();
    let pgid = status.pgid.expect("loop group");
    let marker = format!("{}/{}", given.settings.instance, status.port);
    assert_eq!(
        marked_processes(&marker).len(),
        2,
        "loop and kubectl carry the marker"
    );

    tunnel.send(CloseTunnel).await.expect("closed");

    assert_eq!(live_group_members(pgid), Vec::<u32>::new());
    assert_eq!(marked_processes(&marker), Vec::<u32>::new());
    plain_bind(status.port).expect("the port is free again");
    let log = given.log.drain().join("\n");
    let last_lines = log
        .split("kubectl's last lines:")
        .nth(1)
        .expect("last lines logged");
    assert!(
        last_lines.contains(&format!(
            "| Forwarding from 127.0.0.1:{} -> 19885",
            status.port
        )),
        "{log}"
    );
    let closed = given.closed.recv().await.expect("parent told");
    assert_eq!(
        (closed.port, closed.reason),
        (status.port, CloseReason::Requested)
    );
}

#[actix::test]
async fn a_tunnel_whose_build_dropped_it_stops_by_itself() {
    let mut given = Given::new(Behaviour::forwarding_to(echo_pod().await), |_| {});
    let tunnel = given.start().await.expect("tunnel");
    let status = tunnel.send(GetTunnelState).await.unwrap();

    drop(tunnel);

    let closed = tokio::time::timeout(EVENT_DEADLINE, given.closed.recv())
        .await
        .expect("closed in time")
        .expect("parent told");
    assert_eq!(closed.reason, CloseReason::Orphaned);
    assert_eq!(live_group_members(status.pgid.unwrap()), Vec::<u32>::new());
    plain_bind(status.port).expect("the port is free again");
}

#[actix::test]
async fn a_forward_not_up_in_time_fails_start_with_a_clear_error_and_leaves_nothing() {
    let behaviour = Behaviour {
        delay_ms: 30_000,
        ..Behaviour::forwarding_to(echo_pod().await)
    };
    let mut given = Given::new(behaviour, |s| s.ready_timeout = Duration::from_millis(300));

    let error = given.start().await.expect_err("start must fail");

    let TunnelError::NotReady { port, .. } = error else {
        panic!("wrong error: {error}");
    };
    let text = error.to_string();
    assert!(text.contains("was not up on 127.0.0.1:"), "{text}");
    assert!(text.contains("pod/pod-a:19885 in ns"), "{text}");
    let marker = format!("{}/{port}", given.settings.instance);
    assert_eq!(marked_processes(&marker), Vec::<u32>::new());
    plain_bind(port).expect("the port is free again");
    let closed = given.closed.recv().await.expect("parent told");
    assert_eq!(closed.reason, CloseReason::NotReady);
}

#[actix::test]
async fn a_gone_pod_fails_start_with_kubectls_reason() {
    let given_pod = echo_pod().await;
    let mut given = Given::new(Behaviour::forwarding_to(given_pod), |s| {
        s.ready_timeout = Duration::from_millis(500);
    });
    given.stand_in.delete_pod();

    let error = given.start().await.expect_err("start must fail");

    let TunnelError::NotReady { last_exit, .. } = &error else {
        panic!("wrong error: {error}");
    };
    assert_eq!(*last_exit, Some(ExitClass::PodGone));
    assert!(
        error.to_string().contains(r#"pods "pod-a" not found"#),
        "{error}"
    );
}

#[actix::test]
async fn a_gone_pod_backs_off_exponentially_instead_of_spinning() {
    let mut given = Given::new(Behaviour::forwarding_to(echo_pod().await), |s| {
        s.max_backoff = Duration::from_millis(640);
    });
    let tunnel = given.start().await.expect("tunnel");
    let status = tunnel.send(GetTunnelState).await.unwrap();
    given.stand_in.delete_pod();
    let killed = Instant::now();

    super::sigkill(status.kubectl_pid.unwrap());
    given.log.until("next run in 640 ms").await;

    // Pauses after runs 1..=5: 20 (reset by run 1's forward), then 40, 80, 160, 320.
    let waited = killed.elapsed();
    assert!(
        waited >= Duration::from_millis(620),
        "backoff too short: {waited:?}"
    );
    let status = tunnel.send(GetTunnelState).await.unwrap();
    assert_eq!(status.runs, 6, "{status:?}");
    assert_eq!(status.exits.get(&ExitClass::PodGone), Some(&5));
}

#[actix::test]
async fn reap_leftover_tunnels_ends_a_leftover_loop_and_spares_others() {
    let marker = format!("crashed-{}", uuid::Uuid::new_v4());
    let other = format!("alive-{}", uuid::Uuid::new_v4());
    let mut leftover = LoopGuard(loop_marked(&format!("{marker}/40001")));
    let mut unrelated = LoopGuard(loop_marked(&format!("{other}/40003")));

    let ended = reap_leftover_tunnels(&marker);

    // The loop, and its `sleep` if one was running: both carry the marker.
    assert!((1..=2).contains(&ended), "ended {ended}");
    let status = leftover.0.wait().expect("reaped");
    assert_eq!(status.signal(), Some(9));
    // A killed `sleep` stays in /proc until its exit completes.
    until_marked(&format!("{marker}/40001"), <[u32]>::is_empty);
    assert_eq!(unrelated.0.try_wait().expect("alive"), None);
}

/// Polls /proc (a process that is not our child sends no exit event) until
/// the pids carrying `marker` pass `done`; panics past the event deadline.
fn until_marked(marker: &str, done: impl Fn(&[u32]) -> bool) {
    let deadline = Instant::now() + EVENT_DEADLINE;
    loop {
        let pids = marked_processes(marker);
        if done(&pids) {
            return;
        }
        assert!(Instant::now() < deadline, "{marker}: still {pids:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Kills and reaps a test's loop however the test ends.
struct LoopGuard(std::process::Child);

impl Drop for LoopGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A restart loop like a crashed server's, carrying `marker`.
fn loop_marked(marker: &str) -> std::process::Child {
    let child = Command::new("bash")
        .args(["-c", "while :; do sleep 0.2; done"])
        .env(MARKER_VAR, marker)
        .process_group(0)
        .spawn()
        .expect("spawn loop");
    until_marked(marker, |pids| !pids.is_empty());
    child
}
