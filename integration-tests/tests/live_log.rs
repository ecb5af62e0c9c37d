//! The console-stream websocket: live lines while a build runs, Zuul's protocol.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use portcullis_integration_tests::server::TENANT;
use portcullis_integration_tests::{Scenario, TestServer};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use crate::jobs;

/// A console-stream websocket client.
pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects to the tenant's console-stream websocket.
pub(crate) async fn console_stream(server: &TestServer) -> Socket {
    let url = format!(
        "{}/api/tenant/{TENANT}/console-stream",
        server.base_url.replace("http://", "ws://")
    );
    let (socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect websocket");
    socket
}

/// Reads text until `needle` appears; returns everything read.
pub(crate) async fn read_until(socket: &mut Socket, needle: &str) -> String {
    let mut text = String::new();
    let read = async {
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Text(t) = message {
                text.push_str(&t);
                if text.contains(needle) {
                    return;
                }
            }
        }
    };
    let outcome = tokio::time::timeout(Duration::from_secs(120), read).await;
    assert!(outcome.is_ok(), "no {needle:?} in the stream; got:\n{text}");
    assert!(
        text.contains(needle),
        "stream ended without {needle:?}; got:\n{text}"
    );
    text
}

/// Reads to the end of the stream; returns the text and the close code.
pub(crate) async fn read_to_close(socket: &mut Socket) -> (String, Option<CloseCode>) {
    let mut text = String::new();
    let read = async {
        while let Some(message) = socket.next().await {
            match message {
                Ok(Message::Text(t)) => text.push_str(&t),
                Ok(Message::Close(frame)) => return frame.map(|f| f.code),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    };
    let code = tokio::time::timeout(Duration::from_secs(120), read)
        .await
        .expect("the stream closes when the build ends");
    (text, code)
}

#[tokio::test]
async fn a_client_receives_a_running_builds_lines_before_it_ends() {
    let server = TestServer::start(Scenario::default()).await;
    let release = server.shared_file("release");
    let newrev = server.demo.commit(
        "Add a held job",
        &[
            (".zuul.yaml", &jobs::one_job("held", "")),
            ("playbooks/held.yaml", &jobs::held_until(&release)),
        ],
    );
    let uuid = server.running_build("held", &newrev).await;

    let mut socket = console_stream(&server).await;
    let request = serde_json::json!({"uuid": uuid, "logfile": "console.log"});
    socket
        .send(Message::Text(request.to_string()))
        .await
        .unwrap();
    let before = read_until(&mut socket, "before the wait").await;

    let (_, status) = server.get(&format!("/api/tenant/{TENANT}/status")).await;
    assert!(status.to_string().contains(&uuid), "the build still runs");
    assert!(!before.contains("after the wait"));
    std::fs::write(&release, "go").unwrap();
    let (after, code) = read_to_close(&mut socket).await;
    assert!(after.contains("after the wait"), "{after}");
    assert_eq!(code, Some(CloseCode::Normal));
    let build = server.finished_build("held", &newrev).await;
    assert_eq!(build["result"], "SUCCESS");
}

#[tokio::test]
async fn a_malformed_request_is_refused_and_the_server_keeps_streaming_to_others() {
    let server = TestServer::start(Scenario::default()).await;
    let newrev = server.demo.commit(
        "Add a greeting job",
        &[
            (".zuul.yaml", &jobs::one_job("hello", "")),
            ("playbooks/hello.yaml", &jobs::greeting()),
        ],
    );
    let build = server.finished_build("hello", &newrev).await;

    let mut bad = console_stream(&server).await;
    bad.send(Message::Text("this is not json".into()))
        .await
        .unwrap();
    let (_, code) = read_to_close(&mut bad).await;
    let code = u16::from(code.expect("a close frame"));
    assert!((4000..5000).contains(&code), "close code {code}");

    let mut good = console_stream(&server).await;
    let request = serde_json::json!({"uuid": build["uuid"], "logfile": "console.log"});
    good.send(Message::Text(request.to_string())).await.unwrap();
    let (log, code) = read_to_close(&mut good).await;
    assert!(
        log.contains(&format!("hello from demo at {newrev}")),
        "{log}"
    );
    assert_eq!(code, Some(CloseCode::Normal));
}
