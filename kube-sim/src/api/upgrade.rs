//! The streaming subresources: answering the upgrade (101), then handing the
//! upgraded connection to port-forward or exec.

use super::route::query;
use super::{error, Body, Ctx};
use crate::exec::{self, ExecRequest};
use crate::object::ApiError;
use crate::portforward::{self, Target};
use futures_util::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_PROTOCOL, UPGRADE,
};
use hyper::upgrade::Upgraded;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// The WebSocket subprotocol of kubectl's SPDY-in-WebSocket port-forward (1.31+).
const SPDY_TUNNEL: &str = "SPDY/3.1+portforward.k8s.io";
/// The channel protocols exec speaks, preferred first.
const EXEC_PROTOCOLS: [&str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];
/// The channel protocols of the kube crate's port-forward; the kubelet knows v4.
const CHANNEL_PROTOCOLS: [&str; 2] = ["v4.channel.k8s.io", "v5.channel.k8s.io"];

/// A WebSocket over an upgraded HTTP connection.
pub type Ws = WebSocketStream<TokioIo<Upgraded>>;

fn header(req: &Request<Incoming>, name: hyper::header::HeaderName) -> &str {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn offered_protocols(req: &Request<Incoming>) -> Vec<String> {
    req.headers()
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_string())
        .collect()
}

fn is_websocket(req: &Request<Incoming>) -> bool {
    req.method() == Method::GET && header(req, UPGRADE).eq_ignore_ascii_case("websocket")
}

fn switching(
    upgrade: &'static str,
    extra: [(hyper::header::HeaderName, String); 1],
) -> Response<Body> {
    let mut resp = Response::new(super::full(""));
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(UPGRADE, HeaderValue::from_static(upgrade));
    for (name, value) in extra {
        if let Ok(value) = HeaderValue::from_str(&value) {
            h.insert(name, value);
        }
    }
    resp
}

/// Accepts a WebSocket upgrade with `protocol`, then runs `serve` on it.
fn accept_ws<F, Fut>(
    ctx: &Arc<Ctx>,
    mut req: Request<Incoming>,
    protocol: &str,
    serve: F,
) -> Response<Body>
where
    F: FnOnce(Ws) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let key = header(&req, hyper::header::SEC_WEBSOCKET_KEY)
        .as_bytes()
        .to_vec();
    let on_upgrade = hyper::upgrade::on(&mut req);
    ctx.spawn(async move {
        if let Ok(upgraded) = on_upgrade.await {
            let ws =
                WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
            serve(ws).await;
        }
    });
    let mut resp = switching(
        "websocket",
        [(SEC_WEBSOCKET_ACCEPT, derive_accept_key(&key))],
    );
    if let Ok(p) = HeaderValue::from_str(protocol) {
        resp.headers_mut().insert(SEC_WEBSOCKET_PROTOCOL, p);
    }
    resp
}

/// Looks up a running pod for a streaming request.
fn running_pod(ctx: &Ctx, ns: &str, name: &str) -> Result<Arc<crate::netns::Netns>, ApiError> {
    let entry = ctx.cluster.pod(ns, name)?;
    entry.netns.ok_or_else(|| {
        ApiError::bad_request(format!(
            "pod {name} is not running (phase {})",
            entry.object["status"]["phase"]
        ))
    })
}

/// `…/portforward`: SPDY/3.1 by POST, or SPDY inside a WebSocket by GET.
pub fn port_forward(
    ctx: &Arc<Ctx>,
    ns: &str,
    name: &str,
    req: Request<Incoming>,
) -> Response<Body> {
    let netns = match running_pod(ctx, ns, name) {
        Ok(n) => n,
        Err(e) => return error(&e),
    };
    let target = Target {
        netns,
        pod: format!("{ns}/{name}"),
    };
    if is_websocket(&req) {
        let offered = offered_protocols(&req);
        if offered.iter().any(|p| p == SPDY_TUNNEL) {
            return accept_ws(ctx, req, SPDY_TUNNEL, move |ws| async move {
                ws_tunnel(ws, move |io| portforward::serve(io, target)).await;
            });
        }
        let Some(protocol) = CHANNEL_PROTOCOLS
            .into_iter()
            .find(|p| offered.iter().any(|o| o == p))
        else {
            return error(&ApiError::bad_request(format!(
                "kube-sim port-forward over WebSocket speaks {SPDY_TUNNEL} or v4/v5.channel.k8s.io"
            )));
        };
        let ports: Vec<u16> = query(&req)
            .into_iter()
            .filter(|(k, _)| k == "ports")
            .flat_map(|(_, v)| v.split(',').map(str::to_string).collect::<Vec<_>>())
            .filter_map(|p| p.trim().parse().ok())
            .collect();
        if ports.is_empty() {
            return error(&ApiError::bad_request("at least one port is required"));
        }
        return accept_ws(ctx, req, protocol, move |ws| {
            portforward::websocket::serve(ws, target, ports)
        });
    }
    accept_spdy(ctx, req, "portforward.k8s.io", move |io| {
        portforward::serve(io, target)
    })
}

/// `…/exec` over the v5 (or v4) WebSocket channel protocol, or v4 over SPDY.
pub fn exec(ctx: &Arc<Ctx>, ns: &str, name: &str, req: Request<Incoming>) -> Response<Body> {
    let (request, container) = match exec_request(&req) {
        Ok(parsed) => parsed,
        Err(e) => return error(&e),
    };
    let netns = match running_pod(ctx, ns, name) {
        Ok(n) => n,
        Err(_) if ctx.cluster.pod(ns, name).is_ok() => {
            return error(&ApiError::bad_request(format!(
                "container not found (\"{container}\")"
            )));
        }
        Err(e) => return error(&e),
    };
    if is_websocket(&req) {
        let offered = offered_protocols(&req);
        let Some(protocol) = EXEC_PROTOCOLS
            .into_iter()
            .find(|p| offered.iter().any(|o| o == p))
        else {
            return error(&ApiError::bad_request(
                "kube-sim exec over WebSocket speaks v5/v4.channel.k8s.io",
            ));
        };
        let request = ExecRequest {
            v5: protocol.starts_with("v5"),
            ..request
        };
        return accept_ws(ctx, req, protocol, move |ws| {
            exec::serve(ws, netns, request)
        });
    }
    let versions: Vec<&str> = req
        .headers()
        .get_all("x-stream-protocol-version")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !versions.contains(&exec::spdy::PROTOCOL) {
        return error(&ApiError::bad_request(
            "kube-sim exec over SPDY speaks v4.channel.k8s.io",
        ));
    }
    accept_spdy(ctx, req, exec::spdy::PROTOCOL, move |io| {
        exec::spdy::serve(io, netns, request)
    })
}

/// The command and streams asked for, and the container named.
fn exec_request(req: &Request<Incoming>) -> Result<(ExecRequest, String), ApiError> {
    let q = query(req);
    let flag = |k: &str| q.iter().any(|(n, v)| n == k && (v == "true" || v == "1"));
    let values = |k: &'static str| -> Vec<String> {
        q.iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let request = ExecRequest {
        command: values("command"),
        stdin: flag("stdin"),
        stdout: flag("stdout"),
        stderr: flag("stderr"),
        v5: false,
    };
    if request.command.is_empty() {
        return Err(ApiError::bad_request("you must specify at least 1 command"));
    }
    let container = values("container").into_iter().next().unwrap_or_default();
    Ok((request, container))
}

/// Accepts a SPDY/3.1 upgrade (a POST) with `protocol`, then runs `serve` on it.
fn accept_spdy<F, Fut>(
    ctx: &Arc<Ctx>,
    mut req: Request<Incoming>,
    protocol: &'static str,
    serve: F,
) -> Response<Body>
where
    F: FnOnce(TokioIo<Upgraded>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    if req.method() != Method::POST || !header(&req, UPGRADE).eq_ignore_ascii_case("SPDY/3.1") {
        return error(&ApiError::bad_request(
            "streaming needs an upgrade to SPDY/3.1 or WebSocket",
        ));
    }
    let on_upgrade = hyper::upgrade::on(&mut req);
    ctx.spawn(async move {
        if let Ok(upgraded) = on_upgrade.await {
            serve(TokioIo::new(upgraded)).await;
        }
    });
    let version = hyper::header::HeaderName::from_static("x-stream-protocol-version");
    switching("SPDY/3.1", [(version, protocol.into())])
}

/// Presents a WebSocket's binary messages as a byte stream to `serve`:
/// kubectl writes SPDY fields as separate, sometimes empty, messages.
async fn ws_tunnel<F, Fut>(ws: Ws, serve: F)
where
    F: FnOnce(DuplexStream) -> Fut,
    Fut: Future<Output = ()>,
{
    let (near, far) = tokio::io::duplex(256 * 1024);
    let (mut far_rd, mut far_wr) = tokio::io::split(far);
    let (mut sink, mut stream) = ws.split();
    let inbound = async {
        while let Some(Ok(msg)) = stream.next().await {
            let written = match msg {
                Message::Binary(b) => far_wr.write_all(&b).await,
                Message::Close(_) => break,
                _ => Ok(()),
            };
            if written.is_err() {
                break;
            }
        }
    };
    let outbound = async {
        let mut buf = vec![0u8; 32 * 1024];
        while let Ok(n @ 1..) = far_rd.read(&mut buf).await {
            if sink.send(Message::Binary(buf[..n].to_vec())).await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    };
    // Whichever side ends first ends the tunnel: the client leaving, or the
    // session finishing (which closes the WebSocket, as the API server does).
    tokio::select! {
        _ = inbound => {}
        _ = outbound => {}
        _ = serve(near) => {}
    }
}
