//! The mock API server: plain HTTP/1.1 on 127.0.0.1, stoppable and
//! restartable on the same port, with every request recorded.

mod discovery;
mod rest;
mod route;
pub(crate) mod upgrade;
mod watch;

use crate::cluster::Cluster;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// Response bodies: whole JSON documents or watch streams.
pub(crate) type Body = BoxBody<Bytes, Infallible>;

/// One request the API server answered, for assertions in tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path without the query.
    pub path: String,
    /// The raw query string, empty if none.
    pub query: String,
    /// Every request header, names lowercase, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The status answered (101 for an accepted upgrade).
    pub status: u16,
}

impl RequestRecord {
    /// The first value of a header, by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What request handlers share.
pub(crate) struct Ctx {
    pub cluster: Arc<Cluster>,
    pub addr: SocketAddr,
    log: Mutex<Vec<RequestRecord>>,
    /// Connections, upgraded sessions and watches: all end when the API stops.
    tasks: Mutex<JoinSet<()>>,
}

impl Ctx {
    /// Runs `fut` until it ends or the API server stops.
    pub fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        while tasks.try_join_next().is_some() {}
        tasks.spawn(fut);
    }
}

/// The API server's listener and tasks.
pub(crate) struct ApiServer {
    ctx: Arc<Ctx>,
    accept: Mutex<Option<JoinHandle<()>>>,
}

impl ApiServer {
    /// Binds 127.0.0.1 on a free port and starts serving.
    pub async fn start(cluster: Arc<Cluster>) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let ctx = Arc::new(Ctx {
            cluster,
            addr: listener.local_addr()?,
            log: Mutex::default(),
            tasks: Mutex::default(),
        });
        let accept = tokio::spawn(accept_loop(listener, ctx.clone()));
        Ok(Self {
            ctx,
            accept: Mutex::new(Some(accept)),
        })
    }

    /// The address clients dial.
    pub fn addr(&self) -> SocketAddr {
        self.ctx.addr
    }

    /// A copy of the request log.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.ctx
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn take_accept(&self) -> Option<JoinHandle<()>> {
        self.accept.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn take_tasks(&self) -> JoinSet<()> {
        std::mem::take(&mut *self.ctx.tasks.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Closes the listener and every open connection, upgraded ones and
    /// watches included, and returns once they are gone.
    pub async fn stop(&self) {
        if let Some(accept) = self.take_accept() {
            accept.abort();
            let _ = accept.await;
        }
        loop {
            let mut tasks = self.take_tasks();
            if tasks.is_empty() {
                break;
            }
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
    }

    /// Listens again on the same port.
    pub async fn resume(&self) -> std::io::Result<()> {
        if self
            .accept
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
        {
            return Ok(());
        }
        let listener = TcpListener::bind(self.ctx.addr).await?;
        let mut accept = self.accept.lock().unwrap_or_else(|e| e.into_inner());
        if accept.is_none() {
            *accept = Some(tokio::spawn(accept_loop(listener, self.ctx.clone())));
        }
        Ok(())
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(accept) = self.take_accept() {
            accept.abort();
        }
        self.take_tasks().abort_all();
    }
}

async fn accept_loop(listener: TcpListener, ctx: Arc<Ctx>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let conn_ctx = ctx.clone();
        ctx.spawn(async move {
            let svc = hyper::service::service_fn(move |req| handle(conn_ctx.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), svc)
                .with_upgrades()
                .await;
        });
    }
}

async fn handle(ctx: Arc<Ctx>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let mut record = RequestRecord {
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
        query: req.uri().query().unwrap_or_default().to_string(),
        headers: req
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        status: 0,
    };
    let response = route::dispatch(&ctx, req).await;
    record.status = response.status().as_u16();
    if response.status() == StatusCode::NOT_IMPLEMENTED {
        eprintln!(
            "kube-sim: UNHANDLED {} {}?{} (answered 501); user-agent: {}",
            record.method,
            record.path,
            record.query,
            record.header("user-agent").unwrap_or("-"),
        );
    }
    ctx.log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(record);
    Ok(response)
}

/// A JSON response.
pub(crate) fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut resp = Response::new(full(value.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

/// A whole body.
pub(crate) fn full(body: impl Into<Bytes>) -> Body {
    Full::new(body.into()).boxed()
}

/// An API error as its `Status` document.
pub(crate) fn error(err: &crate::object::ApiError) -> Response<Body> {
    let code = StatusCode::from_u16(err.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json(code, &err.status())
}
