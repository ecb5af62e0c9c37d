//! The web server: Zuul's REST API, the console-stream websocket, build logs
//! and the UI, all on actix-web.
//!
//! | module | holds |
//! |---|---|
//! | [`error`] | [`WebError`]: every failure a handler answers, as Zuul's JSON error |
//! | [`format`] | builds and buildsets as Zuul's `buildToDict` / `buildsetToDict` print them |
//! | `api` | the REST handlers under `/api` |
//! | `config` | config errors, jobs, projects' public keys |
//! | `freeze` | freeze-jobs, freeze-job, freeze-pipeline |
//! | [`auth`] | bearer tokens, authenticators and tenant rules: who may do what |
//! | [`admin`] | enqueue, dequeue, promote and autohold, for a tenant's admins |
//! | [`read`] | [`read::ReadTenant`]: the tenant of a read route, once the caller may read it |
//! | `logs` | `/logs/{uuid}/...`: the files a build left, and their index |
//! | `console` | `/api/tenant/{t}/console-stream`: live and stored logs over a websocket |
//! | `ui` | the HTML pages under `/t/{tenant}/...` and their static files |

pub mod admin;
mod api;
pub mod auth;
mod config;
mod console;
pub mod error;
pub mod format;
mod freeze;
mod logs;
pub mod read;
#[cfg(test)]
mod tests;
mod ui;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use actix_web::{web, App, HttpServer};

pub use admin::AdminEngine;
pub use auth::Auth;
pub use error::WebError;

/// Most worker threads the server starts; a gating system's web load is light.
const MAX_WORKERS: usize = 4;

/// What every handler needs: the engine, the history and where logs live.
#[derive(Clone)]
pub struct WebState {
    /// The running engine (tenants, status, live logs).
    pub engine: portcullis_actors::EngineHandle,
    /// The build history.
    pub store: crate::store::Store,
    /// `{state}/logs`: one folder per build uuid.
    pub logs_dir: PathBuf,
    /// The public URL of the server, ending in `/`.
    pub web_root: String,
    /// The projects' key pairs for secrets (public keys are served).
    pub keys: crate::keys::KeyStore,
}

/// Registers every route with `state` as app data and no authenticator
/// (so no admin actions); for `App::configure`.
pub fn app_config(state: WebState) -> impl FnOnce(&mut web::ServiceConfig) + Clone {
    let engine = admin_engine(&state);
    app_config_with(state, Arc::new(Auth::default()), engine)
}

/// Registers every route, with `auth` checking callers and `admin` taking the admin commands.
pub fn app_config_with(
    state: WebState,
    auth: Arc<Auth>,
    admin: Arc<dyn AdminEngine>,
) -> impl FnOnce(&mut web::ServiceConfig) + Clone {
    let auth = web::Data::from(auth);
    let admin: web::Data<dyn AdminEngine> = web::Data::from(admin);
    move |cfg: &mut web::ServiceConfig| {
        let auth_enabled = auth.enabled();
        cfg.app_data(web::Data::new(state))
            .app_data(auth)
            .app_data(admin);
        // Before the API's routes: a `project/{project:.*}` route would shadow the admin ones.
        admin::routes(cfg, auth_enabled);
        auth::routes(cfg);
        api::routes(cfg);
        config::routes(cfg);
        freeze::routes(cfg);
        console::routes(cfg);
        logs::routes(cfg);
        ui::routes(cfg);
        cfg.default_service(web::to(api::not_found));
    }
}

/// Binds `listen` (port 0 picks a free one) and starts serving; returns the
/// server (await it, or stop it through its handle) and the bound address.
pub fn start(
    listen: SocketAddr,
    state: WebState,
) -> std::io::Result<(actix_web::dev::Server, SocketAddr)> {
    start_with_auth(listen, state, Auth::default())
}

/// [`start`], with `auth` checking callers of the API (and enabling the admin actions).
pub fn start_with_auth(
    listen: SocketAddr,
    state: WebState,
    auth: Auth,
) -> std::io::Result<(actix_web::dev::Server, SocketAddr)> {
    let auth = Arc::new(auth);
    let admin = admin_engine(&state);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(MAX_WORKERS);
    let server = HttpServer::new(move || {
        App::new().configure(app_config_with(state.clone(), auth.clone(), admin.clone()))
    })
    .workers(workers)
    // The caller owns the stop signals: actix-web would listen only once serving.
    .disable_signals()
    .bind(listen)?;
    let bound = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| std::io::Error::other(format!("no address bound for {listen}")))?;
    tracing::info!(%bound, "web server listening");
    Ok((server.run(), bound))
}

/// The engine's admin commands.
fn admin_engine(state: &WebState) -> Arc<dyn AdminEngine> {
    Arc::new(state.engine.clone())
}
