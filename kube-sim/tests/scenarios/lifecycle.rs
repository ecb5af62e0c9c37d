//! Pods coming and going, and the API server going down and up.

use super::support::{converse, serve_greeting, within, Forward, Harness};
use std::path::Path;

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_pod_kills_its_processes_and_removes_its_netns() {
    within(60, async {
        // given a pod running a long sleep
        let h = Harness::start().await;
        let pod = h.sim.add_pod("default", "doomed").await.unwrap();
        let mut sleeper = h.sim.pod_spawn(&pod, &["sleep", "300"]).unwrap();
        // (`ip netns exec` enters the netns a moment after it starts; a process
        // not in it yet is no pod process the deletion could see)
        let pid = sleeper.id().unwrap() as i32;
        while !pod.pids().contains(&pid) {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let netns = Path::new("/var/run/netns").join(pod.netns_name().unwrap());
        assert!(netns.exists());
        // when the pod is deleted
        h.sim.delete_pod(&pod).await.unwrap();
        // then the process was killed, the netns is gone, and the API forgets the pod
        let status = sleeper.wait().await.unwrap();
        assert!(!status.success(), "{status:?}");
        assert!(!netns.exists());
        assert!(h.sim.pod_json("default", "doomed").is_none());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_the_simulation_cleans_up_every_pods_netns() {
    within(60, async {
        // given a simulation with two pods
        let h = Harness::start().await;
        let a = h.sim.add_pod("default", "a").await.unwrap();
        let b = h.sim.add_pod("other", "b").await.unwrap();
        let paths: Vec<_> = [&a, &b]
            .iter()
            .map(|p| Path::new("/var/run/netns").join(p.netns_name().unwrap()))
            .collect();
        // when the simulation is dropped
        drop(h);
        // then no netns of it remains
        for path in paths {
            assert!(!path.exists(), "{} survived", path.display());
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pending_pod_runs_once_released() {
    within(60, async {
        // given a pending pod
        let h = Harness::start().await;
        let pending = h.sim.add_pending_pod("default", "late").await.unwrap();
        assert_eq!(
            h.sim.pod_json("default", "late").unwrap()["status"]["phase"],
            "Pending"
        );
        // when it is released
        let pod = h.sim.run_pod(&pending).await.unwrap();
        serve_greeting(&pod).await;
        // then it is Running and reachable through a forward
        assert_eq!(
            h.sim.pod_json("default", "late").unwrap()["status"]["phase"],
            "Running"
        );
        let forward = Forward::start(h.kubectl("1.32"), "late").await;
        assert_eq!(converse(forward.port, "hi").await.0, "hello from late");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn while_the_api_is_down_kubectl_is_refused_and_after_restart_it_works_on_the_same_port() {
    within(60, async {
        // given a running pod and a working kubectl
        let h = Harness::start().await;
        h.sim.add_pod("default", "p").await.unwrap();
        let url = h.sim.api_url();
        assert_eq!(h.run("1.32", &["get", "pod", "p", "-o", "name"]).await.0, 0);
        // when the API server stops
        h.sim.stop_api().await;
        // then kubectl is refused
        let (code, _, stderr) = h.run("1.32", &["get", "pod", "p", "-o", "name"]).await;
        assert_eq!(code, 1);
        assert!(stderr.contains("was refused"), "{stderr}");
        // and once it is back, on the same URL, kubectl works again
        h.sim.start_api().await.unwrap();
        assert_eq!(h.sim.api_url(), url);
        let (code, stdout, stderr) = h.run("1.32", &["get", "pod", "p", "-o", "name"]).await;
        assert_eq!((code, stdout.trim()), (0, "pod/p"), "{stderr}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stopping_the_api_ends_a_running_forward_with_lost_connection() {
    within(60, async {
        // given a working forward to a pod
        let h = Harness::start().await;
        let pod = h.sim.add_pod("default", "p").await.unwrap();
        serve_greeting(&pod).await;
        let forward = Forward::start(h.kubectl("1.32"), "p").await;
        assert_eq!(converse(forward.port, "hi").await.0, "hello from p");
        // when the API server stops
        h.sim.stop_api().await;
        // then kubectl exits 1, having lost the connection
        let (code, stderr) = forward.exit().await;
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains("lost connection to pod"), "{stderr}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_netns_left_by_a_dead_test_process_is_swept_when_a_simulation_starts() {
    within(30, async {
        // given a kube-sim netns whose owning pid cannot exist (above pid_max)
        let name = format!("ks-999999999-{}-orphan", std::process::id());
        let status = std::process::Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap();
        assert!(status.success());
        let path = Path::new("/var/run/netns").join(&name);
        assert!(path.exists());
        // when a simulation starts
        let _h = Harness::start().await;
        // then the orphan is gone
        assert!(!path.exists(), "{name} survived the sweep");
    })
    .await;
}
