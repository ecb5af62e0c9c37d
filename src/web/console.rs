//! `/api/tenant/{t}/console-stream`: Zuul's log streaming websocket.
//!
//! The client sends one JSON text message, `{"uuid": ..., "logfile": ...}`;
//! the server answers with the build's log as text messages (lines ending in
//! `\n`) and closes with 1000 when the log ends. A running build's log comes
//! from the LogHub (backlog, then live lines); a finished one's from its
//! stored `job-output.txt`. Errors close with Zuul's codes: 4000 for a bad
//! request, 4011 for a build that cannot be streamed, or that is not the
//! tenant's. A read-protected tenant refuses the upgrade without a token
//! that may read it.

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason, Message, MessageStream, Session};
use portcullis_actors::log_hub::LogSubscription;
use serde_json::Value;

use super::logs::resolve;
use super::read::ReadTenant;
use super::WebState;

/// Zuul's close code for a request it cannot understand.
pub const CLOSE_BAD_REQUEST: u16 = 4000;
/// Zuul's close code for a build whose log cannot be streamed.
pub const CLOSE_STREAM_ERROR: u16 = 4011;
/// A close reason must fit in a control frame (125 bytes, 2 of them the code).
const MAX_REASON_BYTES: usize = 123;
/// Zuul's websocket heartbeat; also how soon a vanished client is noticed.
const HEARTBEAT: Duration = Duration::from_secs(20);
/// Lines are batched into messages of about this size.
const CHUNK_BYTES: usize = 64 * 1024;

/// Registers the websocket route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/tenant/{tenant}/console-stream",
        web::get().to(console_stream),
    );
}

async fn console_stream(
    state: web::Data<WebState>,
    // As Zuul, an unknown tenant, or one the caller may not read, is refused before the upgrade.
    tenant: ReadTenant,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    let (response, session, messages) = actix_ws::handle(&req, body)?;
    let state = state.get_ref().clone();
    let tenant = tenant.into_name();
    actix_web::rt::spawn(async move {
        let mut conn = Connection { session, messages };
        if let Some(end) = conn.serve(&state, &tenant).await {
            let _ = conn.session.close(Some(end)).await;
        }
    });
    Ok(response)
}

/// A close reason with a code and a short text.
fn close(code: u16, reason: &str) -> CloseReason {
    let mut cut = reason.len().min(MAX_REASON_BYTES);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    CloseReason {
        code: CloseCode::from(code),
        description: Some(reason[..cut].to_string()),
    }
}

/// The uuid asked for by a client's first message, or why it is refused.
pub fn parse_request(text: &str) -> Result<String, String> {
    let request: Value =
        serde_json::from_str(text).map_err(|e| format!("request is not JSON: {e}"))?;
    let Some(fields) = request.as_object() else {
        return Err("request must be a JSON object".to_string());
    };
    for key in ["uuid", "logfile"] {
        if !fields.contains_key(key) {
            return Err(format!("'{key}' missing from request payload"));
        }
    }
    match fields.get("uuid").and_then(Value::as_str) {
        Some(uuid) if !uuid.is_empty() => Ok(uuid.to_string()),
        _ => Err("'uuid' must be a non-empty string".to_string()),
    }
}

/// One client's websocket.
struct Connection {
    session: Session,
    messages: MessageStream,
}

/// What the next incoming message means for the stream.
enum Incoming {
    /// A text message (a request, or one to ignore once streaming).
    Text(String),
    /// Something that is not a request.
    Binary,
    /// The client closed or vanished.
    Gone,
    /// Handled already (ping, pong).
    Nothing,
}

impl Connection {
    /// Serves the stream; returns how to close, or `None` when the client left.
    async fn serve(&mut self, state: &WebState, tenant: &str) -> Option<CloseReason> {
        let uuid = loop {
            match self.next_message().await {
                Incoming::Text(text) => match parse_request(&text) {
                    Ok(uuid) => break uuid,
                    Err(why) => return Some(close(CLOSE_BAD_REQUEST, &why)),
                },
                Incoming::Binary => {
                    return Some(close(
                        CLOSE_BAD_REQUEST,
                        "request must be a JSON text message",
                    ))
                }
                Incoming::Gone => return None,
                Incoming::Nothing => {}
            }
        };
        tracing::debug!(build.uuid = %uuid, tenant, "console stream requested");
        // Another tenant's build is "not found": the caller may read only this tenant.
        if !is_tenants_build(state, tenant, &uuid).await {
            return Some(close(CLOSE_STREAM_ERROR, "Build not found"));
        }
        if let Some(subscription) = state.engine.log_hub().subscribe(&uuid) {
            return self.stream_live(subscription).await;
        }
        let stored = match resolve(&state.logs_dir, &uuid, "job-output.txt") {
            Ok(path) => tokio::fs::read(path).await.ok(),
            Err(_) => None,
        };
        match stored {
            Some(bytes) => self.send_stored(&bytes).await,
            None => Some(close(CLOSE_STREAM_ERROR, "Build not found")),
        }
    }

    /// Reads one message, answering pings on the way.
    async fn next_message(&mut self) -> Incoming {
        match self.messages.recv().await {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => Incoming::Gone,
            Some(Ok(Message::Text(text))) => Incoming::Text(text.to_string()),
            Some(Ok(Message::Binary(_))) => Incoming::Binary,
            Some(Ok(Message::Ping(bytes))) => {
                if self.session.pong(&bytes).await.is_err() {
                    return Incoming::Gone;
                }
                Incoming::Nothing
            }
            Some(Ok(_)) => Incoming::Nothing,
        }
    }

    async fn send_stored(&mut self, bytes: &[u8]) -> Option<CloseReason> {
        let text = String::from_utf8_lossy(bytes);
        for chunk in chunks(text.split_inclusive('\n')) {
            self.session.text(chunk).await.ok()?;
        }
        Some(close(1000, "end of log"))
    }

    async fn stream_live(&mut self, mut sub: LogSubscription) -> Option<CloseReason> {
        let backlog = sub.backlog.iter().map(|l| format!("{l}\n"));
        for chunk in chunks(backlog) {
            self.session.text(chunk).await.ok()?;
        }
        let mut heartbeat =
            tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
        loop {
            tokio::select! {
                line = sub.live.recv() => {
                    let Some(line) = line else {
                        return Some(close(1000, "end of log"));
                    };
                    let mut text = format!("{line}\n");
                    // Lines that queued up while sending go out together.
                    while let Ok(more) = sub.live.try_recv() {
                        text.push_str(&more);
                        text.push('\n');
                    }
                    self.session.text(text).await.ok()?;
                }
                incoming = self.next_message() => {
                    // Zuul ignores further requests once a stream runs.
                    if let Incoming::Gone = incoming {
                        return None;
                    }
                }
                _ = heartbeat.tick() => {
                    self.session.ping(b"").await.ok()?;
                }
            }
        }
    }
}

/// Whether build `uuid` is `tenant`'s: in its history, or running in its pipelines
/// (a build that just started may not be recorded yet).
async fn is_tenants_build(state: &WebState, tenant: &str, uuid: &str) -> bool {
    if let Ok(Some(_)) = state.store.build(tenant, uuid).await {
        return true;
    }
    let Some(status) = state.engine.status(tenant).await else {
        return false;
    };
    let queues = status.pipelines.iter().flat_map(|p| &p.change_queues);
    let items = queues.flat_map(|q| q.heads.iter().flatten());
    let mut jobs = items.flat_map(|item| &item.jobs);
    jobs.any(|job| job.uuid.as_deref() == Some(uuid))
}

/// Joins pieces of text into messages of about [`CHUNK_BYTES`].
pub fn chunks<S: AsRef<str>>(pieces: impl IntoIterator<Item = S>) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for piece in pieces {
        current.push_str(piece.as_ref());
        if current.len() >= CHUNK_BYTES {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}
