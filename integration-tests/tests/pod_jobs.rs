//! Jobs on pod nodes through the real server: the Kubernetes provider on the
//! simulated cluster, the real pinned kubectl for the console tunnel and for
//! Ansible's `kubectl` connection (the executor's own plugin), live output
//! over the console-stream websocket, and the results bad provider input gives.

use std::path::Path;
use std::time::Duration;

use portcullis::nodes::tunnel_marker;
use portcullis_integration_tests::server::TENANT;
use portcullis_integration_tests::tunnel_harness::{kubectl, within, Cluster, DEFAULT_KUBECTL};
use portcullis_integration_tests::{Scenario, TestServer};
use portcullis_kube_sim::HOLD_PENDING;
use serde_json::Value;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::console_stream::{fifo, follow, release, served_log};
use crate::live_log::{read_to_close, read_until};

/// A `.zuul.yaml` running job `name` in `post` on one node `worker` of label
/// `pod`, with playbook `playbooks/{name}.yaml`.
///
/// The interpreter is named because kube-sim's pods share the host's
/// filesystem and the test's PATH, where pyenv shims answer Ansible's
/// interpreter discovery for pythons they cannot run; a real pod has no such
/// shims.
fn pod_job(name: &str) -> String {
    format!(
        "- job:\n    name: {name}\n    run: playbooks/{name}.yaml\n    \
         nodeset:\n      nodes:\n        - name: worker\n          label: pod\n    \
         vars:\n      ansible_python_interpreter: /usr/bin/python3\n\
         - project:\n    post:\n      jobs: [{name}]\n"
    )
}

/// A playbook on the pod node with the given tasks (YAML, indented by 4).
fn pod_playbook(tasks: &str) -> String {
    format!("- hosts: worker\n  gather_facts: false\n  tasks:\n{tasks}")
}

/// A server with the node provider section `provider_yaml`.
async fn server_on(provider_yaml: String) -> TestServer {
    TestServer::start(Scenario {
        server_extra: provider_yaml,
        ..Scenario::default()
    })
    .await
}

/// Pids of live processes carrying the server's tunnel marker.
fn tunnel_processes(server: &TestServer) -> Vec<u32> {
    portcullis_actors::tunnel::tunnel_processes(&tunnel_marker(&server.state_dir()))
}

/// Whether the simulated cluster has namespace `name`.
async fn has_namespace(cluster: &Cluster, name: &str) -> bool {
    let url = format!("{}/api/v1/namespaces/{name}", cluster.sim.api_url());
    let status = reqwest::get(url).await.expect("the API answers").status();
    assert!(status == 200 || status == 404, "namespace {name}: {status}");
    status == 200
}

// Multi-threaded: the simulated cluster serves kubectl from this process.
#[tokio::test(flavor = "multi_thread")]
async fn a_job_on_a_pod_node_streams_its_commands_output_live_through_the_tunnel() {
    // Given a server whose provider makes pods of label `pod` on the simulated
    // cluster, and a job on such a node whose shell task prints a line, waits
    // on a fifo the test holds, then prints another (the lines' text is not
    // in the command, so only the command's output can show it)
    let cluster = Cluster::start().await;
    let server = server_on(cluster.provider_yaml(&kubectl(DEFAULT_KUBECTL), 60)).await;
    let gate = cluster.dir().join("gate.fifo");
    fifo(&gate);
    let task = format!(
        "    - name: Print around a wait\n      ansible.builtin.shell: |\n        \
         w=line\n        echo \"first $w of the command, in netns $(ip netns identify)\"\n        \
         read go < {}\n        echo \"second $w of the command\"\n",
        gate.display()
    );
    let newrev = server.demo.commit(
        "Add a job on a pod node",
        &[
            (".zuul.yaml", &pod_job("on-pod")),
            ("playbooks/on-pod.yaml", &pod_playbook(&task)),
        ],
    );
    within(120, async {
        let uuid = server.running_build("on-pod", &newrev).await;

        // When a client follows the build's console
        let mut socket = follow(&server, &uuid).await;

        // Then the first line arrives while the command still waits, streamed
        // from host `worker`, and it ran in the build's pod: Ansible reached
        // the pod through the kubectl connection
        let first_line = read_until(&mut socket, "first line of the command");
        let before = tokio::time::timeout(Duration::from_secs(60), first_line)
            .await
            .expect("the first line streams while the command waits");
        assert!(!before.contains("second line of the command"), "{before}");
        let log = served_log(&server, &uuid).await;
        let (namespace, pod) = created_pod(&log);
        let netns = cluster
            .sim
            .pod(&namespace, &pod)
            .expect("the build's pod exists while it runs")
            .netns_name()
            .expect("a running pod has a netns")
            .to_string();
        let first = format!(" | worker | first line of the command, in netns {netns}");
        assert!(before.lines().any(|l| l.ends_with(&first)), "{before}");
        assert!(log.lines().any(|l| l.ends_with(&first)), "{log}");
        // ... and the line came through the tunnel of this server, which runs
        assert!(!tunnel_processes(&server).is_empty(), "no tunnel runs");

        // When the test lets the command go on
        release(&gate).await;

        // Then the second line follows once, and the build succeeds
        let (after, code) = read_to_close(&mut socket).await;
        assert!(
            after.contains("| worker | second line of the command"),
            "{after}"
        );
        let all = format!("{before}{after}");
        assert_eq!(all.matches("first line of the command").count(), 1, "{all}");
        assert_eq!(code, Some(CloseCode::Normal));
        let build = server.finished_build("on-pod", &newrev).await;
        assert_eq!(build["result"], "SUCCESS", "{build:#}");
        // ... although the streamer connected before the pod's console server
        // listened: it connects as the task starts, and the server starts only
        // once the command module runs in the pod; the tunnel's lines in the
        // build's log show the refusals
        let log = served_log(&server, &uuid).await;
        assert!(log.contains("(pod refused)"), "{log}");

        // And by the time the build is reported, its pod, its namespace and
        // every tunnel process are gone
        assert!(cluster.sim.pod_json(&namespace, &pod).is_none());
        assert!(!has_namespace(&cluster, &namespace).await);
        assert_eq!(tunnel_processes(&server), Vec::<u32>::new());
    })
    .await;
}

// Multi-threaded: the simulated cluster serves kubectl from this process.
#[tokio::test(flavor = "multi_thread")]
async fn files_go_to_and_come_back_from_a_pod_node_through_the_kubectl_connection() {
    // Given a job on a pod node that copies a text to the pod, reads it there
    // with a command, and fetches it back into the build's log dir (kube-sim's
    // pods share the host's filesystem, so the pod's file is in the test's dir)
    let cluster = Cluster::start().await;
    let server = server_on(cluster.provider_yaml(&kubectl(DEFAULT_KUBECTL), 60)).await;
    let in_pod = cluster.dir().join("sent.txt");
    let tasks = format!(
        "    - ansible.builtin.copy:\n        content: \"payload of {{{{ zuul.build }}}}\\n\"\n        \
         dest: {pod_file}\n    \
         - ansible.builtin.command: cat {pod_file}\n    \
         - ansible.builtin.fetch:\n        src: {pod_file}\n        \
         dest: \"{{{{ zuul.executor.log_root }}}}/fetched.txt\"\n        flat: true\n",
        pod_file = in_pod.display()
    );
    let newrev = server.demo.commit(
        "Add a job that moves files to and from a pod",
        &[
            (".zuul.yaml", &pod_job("files")),
            ("playbooks/files.yaml", &pod_playbook(&tasks)),
        ],
    );
    within(120, async {
        // When the build has run
        let build = server.finished_build("files", &newrev).await;
        let uuid = build["uuid"].as_str().expect("uuid");
        let log = served_log(&server, uuid).await;
        assert_eq!(build["result"], "SUCCESS", "{log}");

        // Then the pod got the file, its command read it, and the fetched
        // copy is the same text
        let payload = format!("payload of {uuid}\n");
        assert_eq!(std::fs::read_to_string(&in_pod).expect("sent.txt"), payload);
        assert!(
            log.contains(&format!(" | worker | payload of {uuid}")),
            "{log}"
        );
        let url = format!("{}/logs/{uuid}/fetched.txt", server.base_url);
        assert_eq!(server.get_text(&url).await, (200, payload));
    })
    .await;
}

// Multi-threaded: the simulated cluster serves kubectl from this process.
#[tokio::test(flavor = "multi_thread")]
async fn a_pod_deleted_under_a_running_job_makes_its_host_unreachable_not_a_hang() {
    // Given a job on a pod node whose first command waits on a fifo, with
    // its failure ignored (which would let the play go on to the second
    // command, but does not cover an unreachable host)
    let cluster = Cluster::start().await;
    let server = server_on(cluster.provider_yaml(&kubectl(DEFAULT_KUBECTL), 60)).await;
    let gate = cluster.dir().join("gate.fifo");
    fifo(&gate);
    let tasks = format!(
        "    - ansible.builtin.shell: \"echo waiting in the pod; read go < {}\"\n      \
         ignore_errors: true\n    - ansible.builtin.command: echo after the pod went\n",
        gate.display()
    );
    let newrev = server.demo.commit(
        "Add a job whose pod goes away",
        &[
            (".zuul.yaml", &pod_job("orphaned")),
            ("playbooks/orphaned.yaml", &pod_playbook(&tasks)),
        ],
    );
    within(120, async {
        let uuid = server.running_build("orphaned", &newrev).await;
        let mut socket = follow(&server, &uuid).await;
        read_until(&mut socket, "| worker | waiting in the pod").await;

        // When the pod is deleted while the command runs in it
        let (namespace, pod) = created_pod(&served_log(&server, &uuid).await);
        let handle = cluster.sim.pod(&namespace, &pod).expect("the pod runs");
        cluster
            .sim
            .delete_pod(&handle)
            .await
            .expect("delete the pod");

        // Then the build ends on its own: kubectl's failure to reach the pod
        // makes the host unreachable, with kubectl's reason, and the play
        // stops there
        let build = server.finished_build("orphaned", &newrev).await;
        let log = served_log(&server, &uuid).await;
        assert_eq!(build["result"], "FAILURE", "{log}");
        assert!(!log.contains("| worker | after the pod went"), "{log}");
        let unreachable = log
            .lines()
            .find(|l| l.contains("UNREACHABLE!"))
            .unwrap_or_else(|| panic!("no unreachable host:\n{log}"));
        assert!(
            unreachable.contains(&format!("kubectl exec into {namespace}/{pod} failed")),
            "{unreachable}"
        );
        assert_eq!(tunnel_processes(&server), Vec::<u32>::new());
    })
    .await;
}

/// Runs a job on a `pod` node of a provider given by `provider_yaml` and
/// returns the finished build, its API record and its log; a hang fails.
async fn failed_pod_build(provider_yaml: String) -> (Value, String) {
    let server = server_on(provider_yaml).await;
    let task = "    - ansible.builtin.command: echo never runs\n";
    let newrev = server.demo.commit(
        "Add a job on a pod node",
        &[
            (".zuul.yaml", &pod_job("on-pod")),
            ("playbooks/on-pod.yaml", &pod_playbook(task)),
        ],
    );
    within(60, async {
        let build = server.finished_build("on-pod", &newrev).await;
        let uuid = build["uuid"].as_str().expect("uuid").to_string();
        let (code, record) = server
            .get(&format!("/api/tenant/{TENANT}/build/{uuid}"))
            .await;
        assert_eq!(code, 200, "{record:#}");
        let log = served_log(&server, &uuid).await;
        assert!(!log.contains("never runs"), "{log}");
        assert_eq!(tunnel_processes(&server), Vec::<u32>::new());
        (record, log)
    })
    .await
}

/// Asserts a NODE_FAILURE whose API error and log both say `reason`.
fn assert_node_failure(record: &Value, log: &str, reason: &str) {
    assert_eq!(record["result"], "NODE_FAILURE", "{record:#}");
    let detail = record["error_detail"].as_str().unwrap_or_default();
    assert!(detail.contains(reason), "error_detail {detail:?}");
    assert!(
        log.lines()
            .any(|l| l.contains("ERROR") && l.contains(reason)),
        "{log}"
    );
}

// Multi-threaded: the simulated cluster serves kubectl from this process.
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_kubeconfig_ends_the_build_as_node_failure_naming_it() {
    let cluster = Cluster::start().await;
    let missing = cluster.dir().join("no-such-kubeconfig");
    let yaml = cluster
        .provider_yaml(&kubectl(DEFAULT_KUBECTL), 60)
        .replace(
            &cluster.kubeconfig.display().to_string(),
            &missing.display().to_string(),
        );
    let (record, log) = failed_pod_build(yaml).await;
    assert_node_failure(&record, &log, &format!("kubeconfig {}", missing.display()));
}

// Multi-threaded: the simulated cluster serves kubectl from this process.
#[tokio::test(flavor = "multi_thread")]
async fn a_pod_that_never_runs_ends_the_build_as_node_failure_after_the_start_timeout() {
    // Given pods the simulated cluster keeps Pending, and a 2 s start timeout
    let cluster = Cluster::start().await;
    let held =
        format!("{{image: \"debian:bookworm\", annotations: {{\"{HOLD_PENDING}\": \"true\"}}}}");
    let yaml = cluster
        .provider_yaml(&kubectl(DEFAULT_KUBECTL), 2)
        .replace("{image: \"debian:bookworm\"}", &held);
    assert!(yaml.contains(HOLD_PENDING), "{yaml}");
    let (record, log) = failed_pod_build(yaml).await;
    assert_node_failure(&record, &log, "still not running after 2 s (start-timeout)");
    // And the pending pod did not stay behind
    let (namespace, pod) = created_pod(&log);
    assert!(cluster.sim.pod_json(&namespace, &pod).is_none(), "{log}");
    assert!(!has_namespace(&cluster, &namespace).await, "{log}");
}

/// The `namespace/pod` a build's log says it created.
fn created_pod(log: &str) -> (String, String) {
    let line = log
        .lines()
        .find_map(|l| l.split_once("Creating pod ")?.1.split_once(" for node"))
        .map(|(what, _)| what)
        .unwrap_or_else(|| panic!("no pod created in the log:\n{log}"));
    let (namespace, pod) = line.split_once('/').expect("namespace/pod");
    (namespace.to_string(), pod.to_string())
}

// Multi-threaded: the simulated cluster serves kubectl from this process.
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_kubectl_ends_the_build_as_node_failure_naming_it() {
    let cluster = Cluster::start().await;
    let missing = Path::new("/nonexistent/kubectl");
    let (record, log) = failed_pod_build(cluster.provider_yaml(missing, 60)).await;
    assert_node_failure(&record, &log, "kubectl /nonexistent/kubectl cannot run");
}
