//! The REST API as the kube crate speaks it: create, get, list, watch, delete.

use super::support::{serve_greeting, within, Harness};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::path::Path;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the kube crate's port-forward WebSocket to `pod` port 19885.
async fn channel_forward(h: &Harness, pod: &str) -> Client {
    let addr = h.sim.api_addr();
    let url = format!("ws://{addr}/api/v1/namespaces/default/pods/{pod}/portforward?&ports=19885");
    let mut req = url.into_client_request().unwrap();
    let protocols = "v4.channel.k8s.io".parse().unwrap();
    req.headers_mut()
        .insert("sec-websocket-protocol", protocols);
    let (ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(
        resp.headers()["sec-websocket-protocol"],
        "v4.channel.k8s.io"
    );
    ws
}

/// The next binary message, or `None` once the server closed.
async fn binary(ws: &mut Client) -> Option<Vec<u8>> {
    while let Some(msg) = ws.next().await {
        match msg.unwrap() {
            Message::Binary(b) => return Some(b),
            Message::Close(_) => return None,
            _ => {}
        }
    }
    None
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// Reads newline-delimited watch events from a streaming response.
struct Watch {
    resp: reqwest::Response,
    buf: Vec<u8>,
}

impl Watch {
    async fn next(&mut self) -> Value {
        loop {
            if let Some(at) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=at).collect();
                return serde_json::from_slice(&line).unwrap();
            }
            let chunk = self
                .resp
                .chunk()
                .await
                .unwrap()
                .expect("the watch ended early");
            self.buf.extend_from_slice(&chunk);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pod_created_through_the_api_runs_in_its_own_netns_and_watchers_see_each_step() {
    within(60, async {
        // given a namespace created through the API, and a watch on its pods
        let h = Harness::start().await;
        let base = format!("{}/api/v1", h.sim.api_url());
        let ns = client().post(format!("{base}/namespaces")).json(&json!({"metadata": {"name": "ci"}})).send().await.unwrap();
        assert_eq!(ns.status(), 201);
        let list: Value = client().get(format!("{base}/namespaces/ci/pods")).send().await.unwrap().json().await.unwrap();
        assert_eq!(list["kind"], "PodList");
        let rv = list["metadata"]["resourceVersion"].as_str().unwrap().to_string();
        let url = format!("{base}/namespaces/ci/pods?watch=true&resourceVersion={rv}&timeoutSeconds=290");
        let mut watch = Watch { resp: client().get(url).send().await.unwrap(), buf: Vec::new() };
        // when a pod is posted
        let body = json!({"metadata": {"name": "node"}, "spec": {"containers": [{"name": "main", "image": "x"}]}});
        let created = client().post(format!("{base}/namespaces/ci/pods")).json(&body).send().await.unwrap();
        assert_eq!(created.status(), 201);
        // then the watch sees it added Pending, then modified Running
        let added = watch.next().await;
        assert_eq!((added["type"].as_str(), added["object"]["status"]["phase"].as_str()), (Some("ADDED"), Some("Pending")));
        let running = watch.next().await;
        assert_eq!(running["type"], "MODIFIED");
        assert_eq!(running["object"]["status"]["phase"], "Running");
        assert_eq!(running["object"]["status"]["containerStatuses"][0]["name"], "main");
        // and the pod is backed by a netns
        let pod = h.sim.pod("ci", "node").unwrap();
        let netns = Path::new("/var/run/netns").join(pod.netns_name().unwrap());
        assert!(netns.exists());
        // when it is deleted through the API
        let deleted = client().delete(format!("{base}/namespaces/ci/pods/node")).json(&json!({})).send().await.unwrap();
        assert_eq!(deleted.status(), 200);
        // then the watch sees it go, and its netns is gone
        assert_eq!(watch.next().await["type"], "DELETED");
        assert!(!netns.exists());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_pod_is_a_404_status_the_kube_crate_understands() {
    within(30, async {
        // given an empty cluster
        let h = Harness::start().await;
        // when a pod is fetched
        let resp = client()
            .get(format!(
                "{}/api/v1/namespaces/default/pods/nope",
                h.sim.api_url()
            ))
            .send()
            .await
            .unwrap();
        // then it is a 404 Status with reason NotFound
        assert_eq!(resp.status(), 404);
        let status: Value = resp.json().await.unwrap();
        assert_eq!(
            (status["kind"].as_str(), status["reason"].as_str()),
            (Some("Status"), Some("NotFound"))
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pod_in_a_missing_namespace_is_refused_and_a_duplicate_conflicts() {
    within(30, async {
        // given a cluster with pod default/p
        let h = Harness::start().await;
        h.sim.add_pod("default", "p").await.unwrap();
        let post = |ns: &str| {
            client()
                .post(format!("{}/api/v1/namespaces/{ns}/pods", h.sim.api_url()))
                .json(&json!({"metadata": {"name": "p"}}))
                .send()
        };
        // when the same pod is posted again, and one into a namespace that does not exist
        let again = post("default").await.unwrap();
        let nowhere = post("nowhere").await.unwrap();
        // then they conflict and are not found respectively
        assert_eq!(again.status(), 409);
        assert_eq!(nowhere.status(), 404);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pod_asking_to_stay_pending_never_runs() {
    within(30, async {
        // given a pod posted with the hold-pending annotation
        let h = Harness::start().await;
        let body = json!({"metadata": {"name": "held", "annotations": {portcullis_kube_sim::HOLD_PENDING: "true"}}});
        let resp = client().post(format!("{}/api/v1/namespaces/default/pods", h.sim.api_url())).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), 201);
        // when a watch from the start replays what happened to it
        let url = format!("{}/api/v1/namespaces/default/pods?watch=true&resourceVersion=1&timeoutSeconds=1", h.sim.api_url());
        let events = client().get(url).send().await.unwrap().text().await.unwrap();
        // then it was only ever added, Pending, and has no netns
        assert_eq!(events.lines().count(), 1, "{events}");
        assert!(events.contains("\"Pending\""), "{events}");
        assert!(h.sim.pod("default", "held").unwrap().netns_name().is_none());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_route_answers_501_with_a_status_and_is_logged() {
    within(30, async {
        // given a running simulation
        let h = Harness::start().await;
        // when a resource it does not serve is requested
        let url = format!(
            "{}/apis/apps/v1/namespaces/default/deployments",
            h.sim.api_url()
        );
        let resp = client().get(url).send().await.unwrap();
        // then it answers 501 with a Status body, and the log records it
        assert_eq!(resp.status(), 501);
        let status: Value = resp.json().await.unwrap();
        assert_eq!(status["reason"], "NotImplemented");
        let logged = h
            .sim
            .requests()
            .into_iter()
            .find(|r| r.path.ends_with("/deployments"))
            .unwrap();
        assert_eq!(logged.status, 501);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_kube_crates_websocket_port_forward_carries_bytes_on_channel_zero() {
    within(30, async {
        // given a pod with a server on 19885
        let h = Harness::start().await;
        let pod = h.sim.add_pod("default", "p").await.unwrap();
        serve_greeting(&pod).await;
        // when the kube crate's channel port-forward opens
        let mut ws = channel_forward(&h, "p").await;
        // then each channel first gets the port, little-endian
        assert_eq!(binary(&mut ws).await.unwrap(), [0, 0xad, 0x4d]);
        assert_eq!(binary(&mut ws).await.unwrap(), [1, 0xad, 0x4d]);
        // and the pod's bytes arrive on channel 0, and ours reach the pod
        assert_eq!(binary(&mut ws).await.unwrap(), b"\0hello from p\n");
        ws.send(Message::Binary(b"\0hi\n".to_vec())).await.unwrap();
        assert_eq!(binary(&mut ws).await.unwrap(), b"\0echo: hi\n");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_kube_crates_port_forward_reports_a_refused_port_on_the_error_channel() {
    within(30, async {
        // given a pod where nothing listens
        let h = Harness::start().await;
        h.sim.add_pod("default", "quiet").await.unwrap();
        // when the channel port-forward opens
        let mut ws = channel_forward(&h, "quiet").await;
        // then after the port prefixes, channel 1 says why, and the socket closes
        assert_eq!(binary(&mut ws).await.unwrap()[0], 0);
        assert_eq!(binary(&mut ws).await.unwrap()[0], 1);
        let error = binary(&mut ws).await.unwrap();
        assert_eq!(error[0], 1);
        let text = String::from_utf8_lossy(&error[1..]);
        assert!(text.contains("connection refused"), "{text}");
        assert_eq!(binary(&mut ws).await, None);
    })
    .await;
}
