//! Bad input gives a clear error, never a hang, and leaves nothing running.

use std::time::{Duration, Instant};

use portcullis_actors::tunnel::{marked_processes, ExitClass, TunnelError};
use portcullis_integration_tests::tunnel_harness::{
    plain_bind, settings, within, Cluster, OpenTunnel, DEFAULT_KUBECTL,
};

// Zuul's loop starts anyway: sh prints `kubectl: not found` as the first line,
// and Zuul reports "Kubectl and socat are required" (the wrong reason) while
// its loop keeps spinning on the missing binary until the job ends.
#[actix::test]
async fn a_missing_kubectl_fails_start_at_once_naming_it() {
    within(30, async {
        // given a cluster with a running pod, and a kubectl path that does not exist
        let cluster = Cluster::start().await;
        cluster.pod("web").await;
        let mut settings = settings(DEFAULT_KUBECTL);
        settings.kubectl = cluster.dir().join("no-such-kubectl");
        // when a tunnel is started
        let error = OpenTunnel::open(cluster.spec("web"), settings).await.err();
        // then it fails at once, naming the path and the reason
        let error = error.expect("start must fail");
        assert!(
            matches!(
                error,
                TunnelError::Unusable {
                    what: "kubectl",
                    ..
                }
            ),
            "{error}"
        );
        let text = error.to_string();
        assert!(
            text.contains("no-such-kubectl") && text.contains("No such file"),
            "{text}"
        );
    })
    .await;
}

// Zuul's loop: kubectl's error is its first line, so Zuul fails the start, but
// says "Kubectl and socat are required" instead of what kubectl said.
#[actix::test]
async fn a_missing_kubeconfig_fails_start_at_once_naming_it() {
    within(30, async {
        // given a spec whose kubeconfig does not exist
        let cluster = Cluster::start().await;
        cluster.pod("web").await;
        let mut spec = cluster.spec("web");
        spec.kubeconfig = cluster.dir().join("no-such-kubeconfig");
        // when a tunnel is started
        let error = OpenTunnel::open(spec, settings(DEFAULT_KUBECTL))
            .await
            .err();
        // then it fails at once, naming the file
        let error = error.expect("start must fail");
        assert!(
            matches!(
                error,
                TunnelError::Unusable {
                    what: "kubeconfig",
                    ..
                }
            ),
            "{error}"
        );
        assert!(error.to_string().contains("no-such-kubeconfig"), "{error}");
    })
    .await;
}

// Zuul's loop fails too, but names no reason (see above), and only if kubectl's
// error line comes first; its readline has no deadline, so an API server that
// never answers blocks the job's start for kubectl's own 30 s dial timeout.
#[actix::test]
async fn a_pod_that_never_runs_fails_start_by_the_ready_time_with_kubectls_reason() {
    within(30, async {
        // given a pod that stays Pending
        let cluster = Cluster::start().await;
        cluster
            .sim
            .add_pending_pod("default", "stuck")
            .await
            .unwrap();
        let mut settings = settings(DEFAULT_KUBECTL);
        settings.ready_timeout = Duration::from_secs(2);
        let instance = settings.instance.clone();
        // when a tunnel is started
        let began = Instant::now();
        let error = OpenTunnel::open(cluster.spec("stuck"), settings)
            .await
            .err();
        // then it fails once the ready time is up, with kubectl's reason
        let error = error.expect("start must fail");
        assert!(began.elapsed() >= Duration::from_secs(2), "{error}");
        let TunnelError::NotReady {
            port, last_exit, ..
        } = &error
        else {
            panic!("wrong error: {error}");
        };
        assert_eq!(*last_exit, Some(ExitClass::PodGone), "{error}");
        assert!(
            error.to_string().contains("Current status=Pending"),
            "{error}"
        );
        // and it leaves no process and a free port
        assert_eq!(
            marked_processes(&format!("{instance}/{port}")),
            Vec::<u32>::new()
        );
        plain_bind(*port).expect("the port is free again");
    })
    .await;
}
