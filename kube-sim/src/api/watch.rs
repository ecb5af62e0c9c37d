//! Watches: a chunked stream of newline-delimited watch events.

use super::{Body, Ctx};
use crate::cluster::{gone, select, Event, Kind};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::Response;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// What a watch selects.
pub struct Filter {
    /// Pods or namespaces.
    pub resource: Kind,
    /// Only this namespace's objects, if set.
    pub namespace: Option<String>,
    /// `labelSelector`
    pub labels: Option<String>,
    /// `fieldSelector`
    pub fields: Option<String>,
}

impl Filter {
    fn admits(&self, event: &Event) -> bool {
        let ns = event.object["metadata"]["namespace"].as_str();
        event.resource == self.resource
            && self
                .namespace
                .as_deref()
                .is_none_or(|want| ns == Some(want))
            && select::matches(
                &event.object,
                self.labels.as_deref(),
                self.fields.as_deref(),
            )
    }
}

fn line(kind: &str, object: &Value) -> Bytes {
    let mut s = json!({"type": kind, "object": object}).to_string();
    s.push('\n');
    s.into()
}

/// Starts streaming events after `since` (or the current state) for up to
/// `timeout`; ends early with an ERROR 410 event if the watcher falls behind.
pub fn respond(
    ctx: &Arc<Ctx>,
    filter: Filter,
    since: Option<u64>,
    timeout: Duration,
) -> Response<Body> {
    let (mut tx, body) =
        http_body_util::channel::Channel::<Bytes, std::convert::Infallible>::new(64);
    let started = ctx.cluster.watch(filter.resource, since);
    ctx.spawn(async move {
        let (replay, mut feed) = match started {
            Ok(started) => started,
            Err(e) => {
                let _ = tx.send_data(line("ERROR", &e.status())).await;
                return;
            }
        };
        for event in replay.iter().filter(|e| filter.admits(e)) {
            if tx.send_data(line(event.kind, &event.object)).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        loop {
            let event = tokio::select! {
                event = feed.recv() => event,
                _ = &mut deadline => return,
            };
            let bytes = match event {
                Ok(event) if filter.admits(&event) => line(event.kind, &event.object),
                Ok(_) => continue,
                Err(RecvError::Lagged(_)) => {
                    let _ = tx.send_data(line("ERROR", &gone(0).status())).await;
                    return;
                }
                Err(RecvError::Closed) => return,
            };
            if tx.send_data(bytes).await.is_err() {
                return;
            }
        }
    });
    let mut resp = Response::new(body.boxed());
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}
