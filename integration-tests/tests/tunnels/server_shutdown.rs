//! A server that stops, or crashes, with ten builds on pod nodes: through the
//! real `portcullis serve`, the simulated cluster and the real kubectl 1.32.
//! SIGTERM leaves no tunnel process, no held port, no pod and no namespace,
//! and kubectl's last lines are in the server log; after a SIGKILL the next
//! start ends the tunnel processes and deletes the pods the crash left.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;
use portcullis::nodes::tunnel_marker;
use portcullis_actors::tunnel::{reap_leftover_tunnels, tunnel_processes, MARKER_VAR};
use portcullis_integration_tests::tunnel_harness::{
    kubectl, plain_bind, within, Cluster, CONTEXT, DEFAULT_KUBECTL, EVENT_DEADLINE,
};
use portcullis_integration_tests::{wait, Scenario, TestServer};
use portcullis_kube_sim::HOLD_PENDING;
use serde_json::Value;

use crate::jobs;

/// How many builds, each with one pod node, run when the server stops.
const BUILDS: usize = 10;
/// How long a SIGTERMed server may take to give everything back and exit.
const EXIT_BOUND: Duration = Duration::from_secs(20);
/// How long ten builds may take to get their pods and tunnels.
const START_BOUND: Duration = Duration::from_secs(150);

// Zuul's loop runs in a session of its own with no parent-death signal, and
// its executor deletes no node at exit: after a SIGTERM (if the executor dies
// before its job cleanup) and after any SIGKILL, the loops go on holding the
// ports, and nothing ends them at the next start.

#[actix::test]
async fn a_sigterm_with_ten_pod_builds_running_leaves_no_tunnel_port_pod_or_namespace() {
    within(300, async {
        // given ten builds, each holding a pod and its console tunnel
        let TenHeld {
            cluster,
            mut server,
            marker,
            forwards,
            _cleanup,
        } = ten_held_pod_builds().await;
        // when the server gets SIGTERM
        let (status, took) = server
            .stop_with(Signal::SIGTERM, EXIT_BOUND)
            .await
            .unwrap_or_else(|| panic!("no exit within {EXIT_BOUND:?}:\n{}", server.log()));
        // then it exits cleanly within the bound
        assert!(status.success(), "{status}:\n{}", server.log());
        let log = server.log();
        let gave_back = log.lines().find(|l| l.contains("gave back the nodes"));
        eprintln!("SIGTERM to exit with {BUILDS} pod builds: {took:?}; {gave_back:?}");
        // and no process carrying its tunnel marker is left
        assert_eq!(marked(&marker), Vec::<Marked>::new(), "{}", server.log());
        // and every tunnel's port can be bound again without SO_REUSEADDR
        for forward in &forwards {
            plain_bind(forward.port).unwrap_or_else(|e| panic!("port {}: {e}", forward.port));
        }
        // and the cluster holds neither their pods nor their namespaces
        assert_eq!(pod_names(&cluster).await, Vec::<String>::new());
        assert_eq!(build_namespaces(&cluster).await, Vec::<String>::new());
        // and each tunnel's stop, with kubectl's last line, is in the server log
        for forward in &forwards {
            let tunnel = format!("[tunnel 127.0.0.1:{}]", forward.port);
            let info: Vec<&str> = log
                .lines()
                .filter(|l| l.contains(" INFO ") && l.contains(&tunnel))
                .collect();
            let stopped = info.iter().position(|l| l.contains("stopped (Requested)"));
            let last = format!("| Forwarding from 127.0.0.1:{} -> 19885", forward.port);
            let forwarding = info.iter().rposition(|l| l.contains(&last));
            assert!(
                stopped.is_some() && forwarding > stopped,
                "{tunnel}: {info:#?}\n{log}"
            );
        }
    })
    .await;
}

#[actix::test]
async fn after_a_sigkill_of_the_server_its_next_start_ends_leftover_tunnels_and_deletes_its_pods() {
    within(300, async {
        // given ten builds, each holding a pod and its console tunnel
        let TenHeld {
            cluster,
            mut server,
            marker,
            forwards,
            _cleanup,
        } = ten_held_pod_builds().await;
        // when the server is SIGKILLed, with no chance to give anything back
        server
            .stop_with(Signal::SIGKILL, EVENT_DEADLINE)
            .await
            .expect("a SIGKILLed server exits");
        // then its tunnel loops end by their parent-death signal, freeing the ports
        all_ended_and_ports_free("the tunnel processes", &marker, &forwards).await;
        // but its pods and their namespaces are still in the cluster
        assert_eq!(pod_names(&cluster).await.len(), BUILDS);
        assert_eq!(build_namespaces(&cluster).await.len(), BUILDS);
        // given loops carrying its marker that outlived it and forward to its
        // pods, as a loop that escaped the parent-death signal would (Zuul's
        // always do)
        let mut leftovers = Vec::new();
        for forward in &forwards {
            leftovers.push(leftover_loop(&cluster, &marker, forward));
        }
        wait::until("the leftover loops to forward", EVENT_DEADLINE, || async {
            let forwarding = forwards.iter().all(|f| plain_bind(f.port).is_err());
            let kubectls = marked(&marker).iter().filter(|m| m.is_kubectl()).count();
            (forwarding && kubectls == BUILDS).then_some(())
        })
        .await;
        // when the server starts again on the same state dir
        server.restart().await;
        // then the leftovers are ended and their ports free
        all_ended_and_ports_free("the leftover loops", &marker, &forwards).await;
        // and the crashed run's pods and namespaces are deleted, and the log says so
        assert_eq!(pod_names(&cluster).await, Vec::<String>::new());
        assert_eq!(build_namespaces(&cluster).await, Vec::<String>::new());
        let log = server.log();
        assert!(
            log.contains("ended tunnel processes left by a previous run"),
            "{log}"
        );
        assert!(
            log.contains(&format!("deleted={BUILDS}"))
                && log.contains("deleted pods or namespaces a previous run left"),
            "{log}"
        );
        for mut leftover in leftovers {
            leftover.wait().expect("the leftover loop is reaped");
        }
    })
    .await;
}

// Zuul's executor, stopped while it waits for a node request, leaves the
// request to the launcher; here nothing else would ever delete the pod.
#[actix::test]
async fn a_sigterm_while_a_pod_is_still_pending_deletes_it_without_waiting_for_the_start_timeout() {
    within(120, async {
        // given a build whose pod the cluster keeps Pending, with a start
        // timeout far past the server's 30 s bound for giving nodes back
        let cluster = Cluster::start().await;
        let plain = "pod: {image: \"debian:bookworm\"}";
        let held = format!(
            "pod: {{image: \"debian:bookworm\", annotations: {{{HOLD_PENDING}: \"true\"}}}}"
        );
        let provider = cluster
            .provider_yaml(&kubectl(DEFAULT_KUBECTL), 600)
            .replace(plain, &held);
        assert!(provider.contains(HOLD_PENDING), "{provider}");
        let mut server = TestServer::start(Scenario {
            server_extra: provider,
            ..Scenario::default()
        })
        .await;
        let _cleanup = Cleanup::new(&server, &tunnel_marker(&server.state_dir()));
        push_held_pod_jobs(&server, 1);
        let pending = wait::until("the pod to be created", START_BOUND, || async {
            let pods = pods(&cluster).await;
            pods.first().map(|pod| pod["status"]["phase"].clone())
        })
        .await;
        assert_eq!(pending, "Pending");
        // when the server gets SIGTERM while the build waits for it
        let (status, took) = server
            .stop_with(Signal::SIGTERM, EXIT_BOUND)
            .await
            .unwrap_or_else(|| panic!("no exit within {EXIT_BOUND:?}:\n{}", server.log()));
        // then it exits cleanly, without waiting out the start timeout
        assert!(status.success(), "{status}:\n{}", server.log());
        eprintln!("SIGTERM to exit with a pod pending: {took:?}");
        // and neither the pod nor the build's namespace is left
        assert_eq!(pod_names(&cluster).await, Vec::<String>::new());
        assert_eq!(build_namespaces(&cluster).await, Vec::<String>::new());
    })
    .await;
}

/// A server whose provider serves label `pod` from a simulated cluster,
/// running ten builds that each hold a pod and its console tunnel.
struct TenHeld {
    cluster: Cluster,
    server: TestServer,
    /// The server's tunnel marker.
    marker: String,
    forwards: Vec<Forward>,
    _cleanup: Cleanup,
}

/// One tunnel of a build: its local port and the pod it forwards to.
#[derive(Debug)]
struct Forward {
    port: u16,
    namespace: String,
    pod: String,
}

/// Starts a server on a simulated cluster and pushes ten jobs, each on one
/// pod node, whose playbook waits for the release file; returns once every
/// build's playbook waits (its pod runs and its tunnel forwards), with the
/// tunnels found through /proc.
async fn ten_held_pod_builds() -> TenHeld {
    let cluster = Cluster::start().await;
    let server = TestServer::start(Scenario {
        server_extra: cluster.provider_yaml(&kubectl(DEFAULT_KUBECTL), 60),
        ..Scenario::default()
    })
    .await;
    let marker = tunnel_marker(&server.state_dir());
    let cleanup = Cleanup::new(&server, &marker);
    push_held_pod_jobs(&server, BUILDS);
    let logs = server.state_dir().join("logs");
    wait::until("ten playbooks to wait", START_BOUND, || async {
        (waiting_playbooks(&logs) == BUILDS).then_some(())
    })
    .await;
    let running = pods(&cluster)
        .await
        .iter()
        .filter(|p| p["status"]["phase"] == "Running")
        .count();
    assert_eq!(running, BUILDS, "a pod per build runs");
    let forwards: Vec<Forward> = marked(&marker)
        .iter()
        .filter(|m| m.is_kubectl())
        .map(Marked::forward)
        .collect();
    assert_eq!(forwards.len(), BUILDS, "a kubectl per pod: {forwards:?}");
    for forward in &forwards {
        // held now, so that a free port later proves the stop freed it
        assert!(plain_bind(forward.port).is_err(), "{forward:?} is not held");
    }
    TenHeld {
        cluster,
        server,
        marker,
        forwards,
        _cleanup: cleanup,
    }
}

/// Pushes `count` jobs, each on one pod node, whose playbook waits for the
/// release file.
fn push_held_pod_jobs(server: &TestServer, count: usize) {
    let names: Vec<String> = (0..count).map(|i| format!("pod-{i}")).collect();
    let mut zuul = String::new();
    for name in &names {
        zuul.push_str(&format!(
            "- job:\n    name: {name}\n    run: playbooks/held.yaml\n    \
             nodeset:\n      nodes:\n        - name: worker\n          label: pod\n"
        ));
    }
    zuul.push_str(&format!(
        "- project:\n    post:\n      jobs: [{}]\n",
        names.join(", ")
    ));
    let playbook = jobs::held_until(&release_file(server));
    server.demo.commit(
        "Add jobs on pod nodes",
        &[(".zuul.yaml", &zuul), ("playbooks/held.yaml", &playbook)],
    );
}

/// The file the held playbooks wait for.
fn release_file(server: &TestServer) -> PathBuf {
    server.shared_file("release")
}

/// How many builds' logs show their playbook waiting.
fn waiting_playbooks(logs: &Path) -> usize {
    let Ok(dirs) = std::fs::read_dir(logs) else {
        return 0;
    };
    dirs.flatten()
        .filter(|dir| {
            std::fs::read_to_string(dir.path().join("job-output.txt"))
                .is_ok_and(|text| text.contains("before the wait"))
        })
        .count()
}

/// A process carrying `PORTCULLIS_TUNNEL=<marker>/<port>`: a tunnel loop or its kubectl.
#[derive(Debug, PartialEq)]
struct Marked {
    pid: u32,
    port: u16,
    argv: Vec<String>,
}

impl Marked {
    /// True for kubectl itself (the loop is bash, or setpriv before its exec).
    fn is_kubectl(&self) -> bool {
        self.argv.first().is_some_and(|arg0| {
            Path::new(arg0)
                .file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("kubectl"))
        })
    }

    /// The port and pod of a kubectl's `-n NS port-forward pod/NAME` arguments.
    fn forward(&self) -> Forward {
        let after = |flag: &str| {
            let at = self.argv.iter().position(|a| a == flag);
            at.and_then(|i| self.argv.get(i + 1)).cloned()
        };
        let pod = self.argv.iter().find_map(|a| a.strip_prefix("pod/"));
        Forward {
            port: self.port,
            namespace: after("-n").unwrap_or_else(|| panic!("no -n in {:?}", self.argv)),
            pod: pod
                .unwrap_or_else(|| panic!("no pod/ in {:?}", self.argv))
                .to_string(),
        }
    }
}

/// Waits until no process carries `marker` and every forward's port binds again.
async fn all_ended_and_ports_free(what: &str, marker: &str, forwards: &[Forward]) {
    wait::until(&format!("{what} to end"), EVENT_DEADLINE, || async {
        marked(marker).is_empty().then_some(())
    })
    .await;
    for forward in forwards {
        let what = format!("port {} to be free", forward.port);
        wait::until(&what, EVENT_DEADLINE, || async {
            plain_bind(forward.port).ok()
        })
        .await;
    }
}

/// Every live process carrying `marker` (a zombie's environment reads empty).
fn marked(marker: &str) -> Vec<Marked> {
    let prefix = format!("{MARKER_VAR}={marker}/");
    let split = |bytes: Vec<u8>| -> Vec<String> {
        bytes
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect()
    };
    let marked = tunnel_processes(marker).into_iter().filter_map(|pid| {
        let environ = split(std::fs::read(format!("/proc/{pid}/environ")).ok()?);
        let port = environ
            .iter()
            .find_map(|entry| entry.strip_prefix(&prefix)?.parse().ok())?;
        let argv = split(std::fs::read(format!("/proc/{pid}/cmdline")).ok()?);
        Some(Marked { pid, port, argv })
    });
    marked.collect()
}

/// A Zuul-style loop around the real kubectl carrying the server's marker,
/// in a process group of its own and without a parent-death signal: what a
/// tunnel loop that outlived its server looks like.
fn leftover_loop(cluster: &Cluster, marker: &str, forward: &Forward) -> Child {
    Command::new("/bin/bash")
        .arg("-c")
        .arg("while :; do \"$@\"; sleep 0.2; done")
        .arg("leftover")
        .arg(kubectl(DEFAULT_KUBECTL))
        .arg(format!("--kubeconfig={}", cluster.kubeconfig.display()))
        .arg(format!("--context={CONTEXT}"))
        .args(["-n", &forward.namespace, "port-forward"])
        .arg(format!("pod/{}", forward.pod))
        .arg("--address=127.0.0.1")
        .arg(format!("{}:19885", forward.port))
        .env(MARKER_VAR, format!("{marker}/{}", forward.port))
        .env("KUBECACHEDIR", cluster.cache_dir())
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a leftover loop")
}

/// Every pod in the simulated cluster, through its API.
async fn pods(cluster: &Cluster) -> Vec<Value> {
    list(cluster, "/api/v1/pods").await
}

/// `namespace/name` of every pod in the simulated cluster.
async fn pod_names(cluster: &Cluster) -> Vec<String> {
    let pods = pods(cluster).await;
    let name =
        |pod: &Value, field: &str| pod["metadata"][field].as_str().unwrap_or("?").to_string();
    pods.iter()
        .map(|pod| format!("{}/{}", name(pod, "namespace"), name(pod, "name")))
        .collect()
}

/// The per-build namespaces (`portcullis-…`) in the simulated cluster.
async fn build_namespaces(cluster: &Cluster) -> Vec<String> {
    list(cluster, "/api/v1/namespaces")
        .await
        .iter()
        .filter_map(|ns| ns["metadata"]["name"].as_str())
        .filter(|name| name.starts_with("portcullis-"))
        .map(str::to_string)
        .collect()
}

async fn list(cluster: &Cluster, path: &str) -> Vec<Value> {
    let url = format!("{}{path}", cluster.sim.api_url());
    let list: Value = reqwest::get(&url)
        .await
        .and_then(|r| r.error_for_status())
        .expect("the simulated API answers")
        .json()
        .await
        .expect("a JSON list");
    list["items"].as_array().cloned().unwrap_or_default()
}

/// Whatever the test's outcome: releases the held playbooks, so that none
/// waits on, and ends any process still carrying the server's marker.
struct Cleanup {
    release: PathBuf,
    marker: String,
}

impl Cleanup {
    fn new(server: &TestServer, marker: &str) -> Cleanup {
        Cleanup {
            release: release_file(server),
            marker: marker.to_string(),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.release, "");
        reap_leftover_tunnels(&self.marker);
    }
}
