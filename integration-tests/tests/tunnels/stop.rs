//! What a stopped tunnel leaves: no process, a free port, and kubectl's last
//! lines in the build log.

use std::path::Path;

use portcullis_actors::tunnel::{live_group_members, marked_processes};
use portcullis_integration_tests::tunnel_harness::{
    converse_once_up, plain_bind, round_trip, serve_greeting, settings, within, Cluster, OpenTunnel,
};

// Zuul's loop differs in the log: its output sits unread in one pipe until
// the SIGKILL (the last lines are lost once ~2,175 connections filled it) and
// no run's end or reason is logged, so "run 1 ended … (pod refused)" and the
// last lines block below are never there. Its killpg does end the group.
on_kubectl!(after_stop_no_process_is_left_the_port_is_free_and_kubectls_last_output_is_logged:
    kubectl_1_32 => "1.32", kubectl_1_27_spdy => "1.27", kubectl_1_33 => "1.33");

async fn after_stop_no_process_is_left_the_port_is_free_and_kubectls_last_output_is_logged(
    version: &str,
) {
    within(60, async {
        // given a tunnel whose first run met a pod that refused, and whose
        // second run forwards to the console that listens since
        let cluster = Cluster::start().await;
        let pod = cluster.pod("console").await;
        let mut tunnel = OpenTunnel::open(cluster.spec("console"), settings(version))
            .await
            .expect("tunnel up");
        let _ = round_trip(tunnel.port, b"v:0\n").await;
        tunnel.log.until("kubectl run 1 ended").await;
        serve_greeting(&pod).await;
        converse_once_up(tunnel.port, "v:0").await;
        let status = tunnel.status().await;
        let (pgid, kubectl) = (
            status.pgid.expect("group"),
            status.kubectl_pid.expect("pid"),
        );
        assert_eq!(
            marked_processes(&tunnel.marker).len(),
            2,
            "the loop and kubectl"
        );
        // when the tunnel is stopped
        tunnel.close().await;
        // then no process of its group or with its marker is left
        assert_eq!(live_group_members(pgid), Vec::<u32>::new());
        assert_eq!(marked_processes(&tunnel.marker), Vec::<u32>::new());
        assert!(
            !Path::new(&format!("/proc/{kubectl}")).exists(),
            "kubectl {kubectl} lives"
        );
        // and a plain bind (no SO_REUSEADDR) gets the port
        plain_bind(tunnel.port).expect("the port is free again");
        // and the log ends with kubectl's last lines: run 1's error, run 2's forward
        let log = tunnel.log.text();
        let last = log
            .split("kubectl's last lines:")
            .nth(1)
            .expect("last lines logged");
        let refused = last.find("lost connection to pod").expect(&log);
        let forwarding = format!("| Forwarding from 127.0.0.1:{} -> 19885", tunnel.port);
        assert!(last.rfind(&forwarding) > Some(refused), "{log}");
    })
    .await;
}
