//! The console-stream websocket, over a real server on a free port.

use std::net::SocketAddr;

use actix_web::dev::ServerHandle;

use super::harness::{within, World};
use super::ws_client::{Frame, WsClient};
use crate::web::console::parse_request;
use crate::web::{start_with_auth, Auth};

/// The tenant's console stream.
pub(super) const PATH: &str = "/api/tenant/example/console-stream";

/// A served world; the server stops when this is dropped.
pub(super) struct Served {
    /// Tenant, store, logs.
    pub(super) world: World,
    /// Where the server listens.
    pub(super) addr: SocketAddr,
    handle: ServerHandle,
}

impl Served {
    async fn new() -> Served {
        Served::with_auth(Auth::default()).await
    }

    /// A served world whose callers `auth` checks.
    pub(super) async fn with_auth(auth: Auth) -> Served {
        let world = World::new().await;
        let listen = "127.0.0.1:0".parse().expect("an address");
        let (server, addr) = start_with_auth(listen, world.state.clone(), auth).expect("a server");
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Served {
            world,
            addr,
            handle,
        }
    }

    async fn client(&self) -> WsClient {
        within("the websocket upgrade", WsClient::connect(self.addr, PATH))
            .await
            .expect("an upgraded connection")
    }

    async fn ask(&self, request: &str) -> (String, Frame) {
        let mut client = self.client().await;
        client.send_text(request).await;
        within("the stream to end", client.text_until_close()).await
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // Stopping is asynchronous; the test runtime ends right after anyway.
        drop(self.handle.stop(false));
    }
}

#[actix_web::test]
async fn a_running_builds_backlog_then_live_lines_arrive_and_the_end_closes_with_1000() {
    let served = Served::new().await;
    served.world.record_build("b1").await;
    let hub = served.world.state.engine.log_hub().clone();
    hub.open("b1");
    hub.publish("b1", "one");
    let mut client = served.client().await;
    client
        .send_text(r#"{"uuid": "b1", "logfile": "console.log"}"#)
        .await;
    let first = within("the backlog", client.recv()).await;
    assert_eq!(first, Some(Frame::Text("one\n".into())));
    hub.publish("b1", "two");
    hub.close("b1");
    let (rest, close) = within("the live lines", client.text_until_close()).await;
    assert_eq!(rest, "two\n");
    assert!(matches!(close, Frame::Close(1000, _)), "{close:?}");
}

#[actix_web::test]
async fn a_finished_builds_stored_log_is_sent_then_closed_with_1000() {
    let served = Served::new().await;
    served.world.record_build("b2").await;
    let log = "2024-05-01 12:00:00.000000 | a\n2024-05-01 12:00:01.000000 | b\n";
    served.world.write_log("b2", "job-output.txt", log);
    let (text, close) = served
        .ask(r#"{"uuid": "b2", "logfile": "console.log", "websocket_url": "ws://x"}"#)
        .await;
    assert_eq!(text, log);
    assert!(matches!(close, Frame::Close(1000, _)), "{close:?}");
}

#[actix_web::test]
async fn an_unknown_build_closes_with_4011_build_not_found() {
    let served = Served::new().await;
    let (text, close) = served
        .ask(r#"{"uuid": "ghost", "logfile": "console.log"}"#)
        .await;
    assert_eq!(text, "");
    assert_eq!(close, Frame::Close(4011, "Build not found".into()));
}

#[actix_web::test]
async fn a_malformed_request_closes_with_4000_and_the_server_keeps_serving() {
    let served = Served::new().await;
    let (_, close) = served.ask("this is not json").await;
    assert!(
        matches!(&close, Frame::Close(4000, why) if why.contains("not JSON")),
        "{close:?}"
    );
    let (_, close) = served.ask(r#"{"logfile": "console.log"}"#).await;
    assert_eq!(
        close,
        Frame::Close(4000, "'uuid' missing from request payload".into())
    );
    served.world.record_build("b3").await;
    served
        .world
        .write_log("b3", "job-output.txt", "still here\n");
    let (text, close) = served
        .ask(r#"{"uuid": "b3", "logfile": "console.log"}"#)
        .await;
    assert_eq!(text, "still here\n");
    assert!(matches!(close, Frame::Close(1000, _)));
}

#[actix_web::test]
async fn a_ping_is_answered_with_a_pong_while_streaming() {
    let served = Served::new().await;
    served.world.record_build("b4").await;
    let hub = served.world.state.engine.log_hub().clone();
    hub.open("b4");
    let mut client = served.client().await;
    client.send_ping(b"before").await;
    assert_eq!(
        within("a pong", client.recv()).await,
        Some(Frame::Pong(b"before".to_vec()))
    );
    client
        .send_text(r#"{"uuid": "b4", "logfile": "console.log"}"#)
        .await;
    client.send_ping(b"during").await;
    assert_eq!(
        within("a pong", client.recv()).await,
        Some(Frame::Pong(b"during".to_vec()))
    );
    hub.close("b4");
    let (_, close) = within("the end", client.text_until_close()).await;
    assert!(matches!(close, Frame::Close(1000, _)));
}

#[actix_web::test]
async fn an_unknown_tenant_is_refused_before_the_upgrade() {
    let served = Served::new().await;
    let refused = within(
        "the refusal",
        WsClient::connect(served.addr, "/api/tenant/nope/console-stream"),
    )
    .await;
    assert!(
        matches!(&refused, Err(status) if status.contains("404")),
        "{:?}",
        refused.err()
    );
}

#[test]
fn a_request_needs_a_uuid_and_a_logfile() {
    assert_eq!(
        parse_request(r#"{"uuid": "u", "logfile": "console.log"}"#),
        Ok("u".to_string())
    );
    assert_eq!(
        parse_request(r#"{"uuid": "u"}"#),
        Err("'logfile' missing from request payload".to_string())
    );
    assert!(parse_request(r#"["uuid"]"#).is_err());
    assert!(parse_request(r#"{"uuid": 7, "logfile": "x"}"#).is_err());
}
