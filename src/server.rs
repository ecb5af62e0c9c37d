//! Start-up: reads the config, opens the store, starts the engine, the
//! drivers and the web server, and stops them all again on a stop signal.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use portcullis_actors::scheduler::Scheduler;
use portcullis_actors::{EngineHandle, LogHub, Ports};
use portcullis_config::server::Connection;
use portcullis_config::{ServerConfig, TenantConfig};

use crate::drivers::git::{spawn_git_poller, PollerHandle};
use crate::drivers::report::GitReporter;
use crate::executor::{AnsibleExecutor, ExecutorSettings};
use crate::merger::layout_loader::RepoLayoutLoader;
use crate::merger::Merger;
use crate::stop_signals::{StopRequest, StopSignals};
use crate::store::Store;
use crate::web::{self, WebState};

/// How long a stopping server gives the node providers to give back the
/// nodes of builds still running (tunnels stopped, pods deleted); what is
/// left after it, the next start deletes.
const RELEASE_BOUND: Duration = Duration::from_secs(30);
/// How long a starting server looks for pods and namespaces a crashed run
/// left, so that an unreachable cluster delays the start only this much.
const LEFTOVER_BOUND: Duration = Duration::from_secs(15);

/// Reads and checks the server config and the tenant config it names.
pub fn load_config(path: &Path) -> anyhow::Result<(ServerConfig, TenantConfig)> {
    // Absolute, so paths relative to the config file mean the same from any cwd.
    let path = &std::path::absolute(path)
        .with_context(|| format!("cannot resolve the server config path {}", path.display()))?;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the server config {}", path.display()))?;
    let server = ServerConfig::parse(path, &text)?;
    let tenant_path = &server.tenant_config;
    let text = std::fs::read_to_string(tenant_path)
        .with_context(|| format!("cannot read the tenant config {}", tenant_path.display()))?;
    let tenants = TenantConfig::parse(&tenant_path.display().to_string(), &text)?;
    for tenant in &tenants.tenants {
        for connection in tenant.sources.keys() {
            if !server.connections.contains_key(connection) {
                anyhow::bail!(
                    "{}: tenant {} uses connection {connection:?}, which {} does not define",
                    tenant_path.display(),
                    tenant.name,
                    path.display()
                );
            }
        }
    }
    Ok((server, tenants))
}

/// Runs the server until it is told to stop. Must run inside an actix system.
pub async fn serve(config_path: &Path) -> anyhow::Result<()> {
    // Installed first, so a signal during start still ends in a clean stop.
    let mut stop = StopSignals::install()?;
    let (config, tenants) = load_config(config_path)?;
    // Key files are read now, so that a bad one stops the start before anything runs.
    let auth =
        web::Auth::new(&config.auth, &tenants).context("cannot set up the authenticators")?;
    std::fs::create_dir_all(&config.state_dir)
        .with_context(|| format!("cannot create the state dir {}", config.state_dir.display()))?;
    seed_example_repos(&config, &tenants).await?;
    let store = Store::open(&config.database_url)
        .await
        .with_context(|| format!("cannot open the database {}", config.database_url))?;
    let merger = Merger::new(config.state_dir.join("git"), config.connections.clone());
    let log_hub = LogHub::new();
    let keys = crate::keys::KeyStore::new(&config.state_dir);
    // Tunnels a crashed run of this server left would hold ports and spin.
    let marker = crate::nodes::tunnel_marker(&config.state_dir);
    let reaped = portcullis_actors::tunnel::reap_leftover_tunnels(&marker);
    if reaped > 0 {
        tracing::warn!(reaped, "ended tunnel processes a previous run left");
    }
    let nodes = crate::nodes::NodeProviders::new(&config.node_providers, &marker);
    // Before any build: the sweep cannot tell a crashed run's pods from this run's.
    match tokio::time::timeout(LEFTOVER_BOUND, nodes.delete_leftovers()).await {
        Ok(0) => {}
        Ok(deleted) => tracing::warn!(deleted, "deleted pods or namespaces a previous run left"),
        Err(_) => tracing::warn!(
            "looking for pods a previous run left took over {} s; skipped",
            LEFTOVER_BOUND.as_secs()
        ),
    }
    let executor = AnsibleExecutor::new(ExecutorSettings {
        state_dir: config.state_dir.clone(),
        config: config.executor.clone(),
        merger: merger.clone(),
        web_root: config.web_root.clone(),
    })
    .with_nodes(nodes.clone());
    let saved = restart_state(&store, &executor).await?;
    let ports = Ports {
        executor: Arc::new(executor),
        store: Arc::new(store.clone()),
        loader: Arc::new(RepoLayoutLoader::new(merger.clone()).with_keys(keys.clone())),
        merger: Arc::new(merger.clone()),
        reporter: Arc::new(GitReporter::new(merger.clone())),
        log_hub: log_hub.clone(),
        web_root: config.web_root.clone(),
    };
    let scheduler = Scheduler::new(tenants.clone(), ports).restoring(saved);
    let scheduler = actix::Actor::start(scheduler);
    let engine = EngineHandle::new(scheduler, log_hub);
    let _pollers = start_pollers(&config, &tenants, &merger, &engine);
    let engine_for_stop = engine.clone();
    let state = WebState {
        engine,
        store,
        logs_dir: config.state_dir.join("logs"),
        web_root: config.web_root.clone(),
        keys,
    };
    let (server, addr) = web::start_with_auth(config.listen, state, auth)
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tracing::info!(%addr, "portcullis is serving; web UI at {}", config.web_root);
    let web_server = server.handle();
    actix::spawn(async move {
        let request = stop.recv().await;
        tracing::info!(?request, "stop signal received; stopping the web server");
        web_server.stop(request == StopRequest::Graceful).await;
    });
    // Once the web server stops, dropping the pollers and stopping the system
    // stops every actor, and with them every build's processes.
    let served = server.await.context("web server failed");
    // Before the builds are dropped: pipelines must not take their ends for
    // results, so the queues saved last are what the next start restores.
    if tokio::time::timeout(RELEASE_BOUND, engine_for_stop.stop_queues())
        .await
        .is_err()
    {
        tracing::error!(
            "the queues were not all saved within {} s",
            RELEASE_BOUND.as_secs()
        );
    }
    // Given back while the runtime still runs: a lease dropped with the
    // system could only spawn its deletes, and they would never run.
    let releasing = std::time::Instant::now();
    match tokio::time::timeout(RELEASE_BOUND, nodes.release_all()).await {
        Ok(0) => {}
        Ok(released) => tracing::info!(
            released,
            duration_ms = releasing.elapsed().as_millis(),
            "gave back the nodes of running builds"
        ),
        Err(_) => tracing::error!(
            "nodes of running builds not all given back within {} s; the next start deletes what is left",
            RELEASE_BOUND.as_secs()
        ),
    }
    actix::System::current().stop();
    // Dropped tunnels kill their groups; this catches any the drop missed.
    portcullis_actors::tunnel::reap_leftover_tunnels(&marker);
    served
}

/// What the previous run left, made ready for this one before the engine
/// starts: its unfinished history rows ended, its builds' processes and work
/// dirs gone, and the queues it saved (to restore).
async fn restart_state(
    store: &Store,
    executor: &AnsibleExecutor,
) -> anyhow::Result<Vec<portcullis_actors::port::SavedQueue>> {
    let held = store
        .held_builds()
        .await
        .context("cannot read the held builds")?;
    let (users, dirs) = executor.end_leftovers(held.into_iter().collect()).await;
    if users + dirs > 0 {
        tracing::warn!(
            users,
            dirs,
            "ended the processes and removed the work dirs of builds a previous run left"
        );
    }
    let ended = store
        .end_unfinished()
        .await
        .context("cannot end unfinished builds")?;
    if ended > 0 {
        tracing::warn!(
            builds = ended,
            "builds a previous run left running are ABORTED"
        );
    }
    let saved = store
        .saved_queues()
        .await
        .context("cannot read the saved queues")?;
    let items: usize = saved.iter().map(|q| q.events.len()).sum();
    if items > 0 {
        tracing::info!(items, "restoring the queues the previous run saved");
    }
    Ok(saved)
}

/// The projects each connection serves, over all tenants.
fn projects_by_connection(tenants: &TenantConfig) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for project in tenants.tenants.iter().flat_map(|t| t.projects()) {
        let names = out.entry(project.connection).or_default();
        if !names.contains(&project.name) {
            names.push(project.name);
        }
    }
    out
}

/// Creates the example repos that connections with a `seed` folder still lack.
pub(crate) async fn seed_example_repos(
    config: &ServerConfig,
    tenants: &TenantConfig,
) -> anyhow::Result<()> {
    for (name, projects) in projects_by_connection(tenants) {
        let Some(Connection::Git(git)) = config.connections.get(&name) else {
            continue;
        };
        crate::quickstart::seed_repos(git, &projects).await?;
    }
    Ok(())
}

fn start_pollers(
    config: &ServerConfig,
    tenants: &TenantConfig,
    merger: &Merger,
    engine: &EngineHandle,
) -> Vec<PollerHandle> {
    let mut pollers = Vec::new();
    for (name, projects) in projects_by_connection(tenants) {
        let Some(Connection::Git(git)) = config.connections.get(&name) else {
            continue;
        };
        let engine = engine.clone();
        let poller = spawn_git_poller(name, git.clone(), projects, merger.clone(), move |e| {
            engine.submit(e)
        });
        pollers.push(poller);
    }
    pollers
}
