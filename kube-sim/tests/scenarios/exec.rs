//! `kubectl exec` and `kubectl get` through the simulation.

use super::support::{within, Harness};
use std::process::Stdio;
use tokio::io::AsyncWriteExt;

/// kubectl 1.27-1.29 exec over SPDY, 1.30 and later over WebSocket v5.
#[tokio::test(flavor = "multi_thread")]
async fn exec_prints_the_commands_output_and_exits_with_its_code_on_every_pinned_kubectl() {
    for version in ["1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33"] {
        within(60, async {
            // given a running pod
            let h = Harness::start().await;
            h.sim.add_pod("default", "box").await.unwrap();
            // when a command that prints and exits 3 is exec'd
            let args = [
                "exec",
                "pod/box",
                "--",
                "sh",
                "-c",
                "echo hi; echo oops >&2; exit 3",
            ];
            let (code, stdout, stderr) = h.run(version, &args).await;
            // then its output arrives on the right streams and kubectl exits 3
            assert_eq!(stdout, "hi\n", "kubectl {version}");
            assert!(stderr.starts_with("oops\n"), "kubectl {version}: {stderr}");
            assert!(
                stderr.contains("command terminated with exit code 3"),
                "{stderr}"
            );
            assert_eq!(code, 3, "kubectl {version}: {stderr}");
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_runs_inside_the_pods_own_network_namespace() {
    within(60, async {
        // given a running pod
        let h = Harness::start().await;
        let pod = h.sim.add_pod("default", "box").await.unwrap();
        // when a command asks which network namespace it is in
        let (code, stdout, stderr) = h
            .run(
                "1.32",
                &["exec", "pod/box", "--", "ip", "netns", "identify"],
            )
            .await;
        // then it names the pod's, and succeeds
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(stdout.trim(), pod.netns_name().unwrap());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_with_stdin_feeds_the_command_until_eof_over_spdy_and_websocket() {
    for version in ["1.27", "1.32"] {
        within(60, async {
            // given a running pod
            let h = Harness::start().await;
            h.sim.add_pod("default", "box").await.unwrap();
            // when `exec -i` pipes text into `tr`
            let mut child = h
                .kubectl(version)
                .args(["exec", "-i", "pod/box", "--", "tr", "a-z", "A-Z"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(b"shout\n").await.unwrap();
            drop(stdin);
            let out = child.wait_with_output().await.unwrap();
            // then the command saw all of it and ended at EOF
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                "SHOUT\n",
                "kubectl {version}"
            );
            assert!(out.status.success(), "kubectl {version}");
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn get_pod_as_json_shows_the_running_pod() {
    within(60, async {
        // given a running pod in namespace ci
        let h = Harness::start().await;
        h.sim.add_pod("ci", "node-1").await.unwrap();
        // when kubectl gets it as JSON
        let (code, stdout, stderr) = h
            .run("1.32", &["-n", "ci", "get", "pod", "node-1", "-o", "json"])
            .await;
        // then it is the pod, Running
        assert_eq!(code, 0, "{stderr}");
        let pod: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(pod["metadata"]["name"], "node-1");
        assert_eq!(pod["metadata"]["namespace"], "ci");
        assert_eq!(pod["status"]["phase"], "Running");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn get_of_a_missing_pod_says_not_found_like_the_real_api() {
    within(60, async {
        // given an empty default namespace
        let h = Harness::start().await;
        // when kubectl gets a pod that does not exist
        let (code, _, stderr) = h.run("1.27", &["get", "pod", "ghost"]).await;
        // then it reports the API's NotFound wording
        assert_eq!(code, 1);
        assert!(
            stderr.contains("Error from server (NotFound): pods \"ghost\" not found"),
            "{stderr}"
        );
    })
    .await;
}
