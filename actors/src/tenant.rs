//! The Tenant actor: a tenant's layout and its pipelines.
//!
//! A ref update may change the config it is tested with, so the tenant reloads
//! its layout before it routes it: events that arrive during a load wait for
//! the next one, in order. An event about a change moves no branch, so it is
//! routed on the layout in use. Pipelines get events in order of precedence
//! (high first); every event about a change first dequeues that change's
//! stale patchsets everywhere. Admin commands are in `tenant/admin.rs`; a
//! pipeline's `supercedes` in `tenant/supercede.rs`.

mod admin;
mod layout;
mod supercede;

pub use layout::{GetLayout, TenantLayout};

use std::sync::Arc;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use portcullis_config::{Layout, TenantDef};

use crate::autohold::Autoholds;
use crate::event::{ItemRef, TriggerEvent};
use crate::known_changes::KnownChanges;
use crate::pipeline::{
    CountItems, DequeueStaleChange, GetPipelineStatus, Pipeline, RestoreItems, StopQueues,
    UpdateLayout,
};
use crate::port::{Ports, SavedQueue};
use crate::status::{TenantStatus, TenantSummary};

/// A trigger event for this tenant. Sent by the Scheduler.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct RouteEvent(pub TriggerEvent);

/// Asks for the tenant's status snapshot.
#[derive(Debug, Message)]
#[rtype(result = "TenantStatus")]
pub struct GetStatus;

/// Asks for the tenant's summary line.
#[derive(Debug, Message)]
#[rtype(result = "TenantSummary")]
pub struct GetSummary;

/// One tenant.
pub struct Tenant {
    def: TenantDef,
    ports: Ports,
    autoholds: Autoholds,
    /// Every change trigger events told of: what an admin's enqueue of a change
    /// is made from, and where pipelines find the changes an item needs.
    changes: KnownChanges,
    layout: Option<Arc<Layout>>,
    /// Config-project errors of the last load, when it was refused.
    refused: Vec<portcullis_config::ConfigError>,
    last_reconfigured: Option<DateTime<Utc>>,
    /// Pipeline actors in layout order, owned here.
    pipelines: Vec<(String, Addr<Pipeline>)>,
    /// Events waiting for a layout load to finish.
    pending: Vec<TriggerEvent>,
    /// Admin commands waiting for a layout load to finish, with where to answer.
    pending_admin: Vec<(
        crate::admin::AdminCommand,
        tokio::sync::oneshot::Sender<Result<(), crate::admin::AdminError>>,
    )>,
    loading: bool,
    /// The queues a restart restores, until the first layout is loaded.
    restoring: Vec<SavedQueue>,
}

/// Stops the tenant's pipelines from acting and answers once their last
/// saves are written. Sent by the Scheduler when the server stops.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct StopTenant;

impl Tenant {
    /// A tenant that loads its layout through `ports.loader` once started.
    pub fn new(def: TenantDef, ports: Ports, autoholds: Autoholds) -> Self {
        Tenant {
            def,
            ports,
            autoholds,
            changes: KnownChanges::default(),
            layout: None,
            refused: Vec::new(),
            last_reconfigured: None,
            pipelines: Vec::new(),
            pending: Vec::new(),
            pending_admin: Vec::new(),
            loading: false,
            restoring: Vec::new(),
        }
    }

    /// The same tenant, restoring `saved` (its pipelines' queues) once loaded.
    pub fn restoring(mut self, saved: Vec<SavedQueue>) -> Self {
        self.restoring = saved;
        self
    }

    /// Hands each pipeline its saved items: their changes become known first,
    /// so restored items find what they need in the order they were saved.
    fn restore_queues(&mut self) {
        let saved = std::mem::take(&mut self.restoring);
        for event in saved.iter().flat_map(|q| &q.events) {
            self.changes.recall(event);
        }
        for queue in saved {
            match self.pipelines.iter().find(|(n, _)| *n == queue.pipeline) {
                Some((_, addr)) => addr.do_send(RestoreItems(queue.events)),
                None => tracing::warn!(
                    tenant = %self.def.name, pipeline = %queue.pipeline, items = queue.events.len(),
                    "a saved queue's pipeline is gone from the layout; its items are not restored"
                ),
            }
        }
    }

    fn start_load(&mut self, ctx: &mut Context<Self>) {
        self.loading = true;
        let waiting = self.pending.len();
        let load = self.ports.loader.load(self.def.clone());
        ctx.spawn(load.into_actor(self).map(move |loaded, tenant, ctx| {
            tenant.loading = false;
            match loaded {
                Ok(layout) => {
                    tenant.refused.clear();
                    tenant.apply_layout(Arc::new(layout), ctx);
                    tenant.restore_queues();
                }
                Err(err) => {
                    tracing::error!(tenant = %tenant.def.name, %err, "layout not loaded; keeping the previous one");
                    if let crate::port::LoadError::Config(errors) = err {
                        tenant.refused = errors;
                    }
                }
            }
            let ready: Vec<_> = tenant.pending.drain(..waiting).collect();
            for event in ready {
                tenant.route(event);
            }
            for (command, answer) in std::mem::take(&mut tenant.pending_admin) {
                let outcome = tenant.execute(command);
                actix::spawn(async move {
                    let _ = answer.send(outcome.await);
                });
            }
            if !tenant.pending.is_empty() {
                tenant.start_load(ctx);
            }
        }));
    }

    fn apply_layout(&mut self, layout: Arc<Layout>, _: &mut Context<Self>) {
        for err in &layout.errors {
            tracing::warn!(tenant = %self.def.name, %err, "config error");
        }
        let mut pipelines = Vec::new();
        for pipeline in &layout.pipelines {
            let existing = self.pipelines.iter().find(|(n, _)| *n == pipeline.name);
            let addr = match existing {
                Some((_, addr)) => {
                    addr.do_send(UpdateLayout(layout.clone()));
                    addr.clone()
                }
                None => Pipeline::new(
                    self.def.name.clone(),
                    pipeline.name.clone(),
                    layout.clone(),
                    self.ports.clone(),
                    self.autoholds.clone(),
                    self.changes.clone(),
                )
                .start(),
            };
            pipelines.push((pipeline.name.clone(), addr));
        }
        // Pipelines gone from the layout finish their items and stop when dropped.
        self.pipelines = pipelines;
        self.layout = Some(layout);
        self.last_reconfigured = Some(Utc::now());
    }

    fn route(&self, event: TriggerEvent) {
        let Some(layout) = &self.layout else {
            tracing::warn!(tenant = %self.def.name, "no layout; event dropped");
            return;
        };
        if event.change.is_some() {
            let item = ItemRef::from_event(&event);
            let abandoned = event.event_type == "change-abandoned";
            for (_, addr) in &self.pipelines {
                addr.do_send(DequeueStaleChange(item.clone(), abandoned));
            }
        }
        let facts = event.facts();
        let mut triggered: Vec<_> = layout
            .pipelines
            .iter()
            .filter(|p| p.is_triggered_by(&facts))
            .collect();
        // Higher precedence first; the sort is stable, so layout order breaks ties.
        triggered.sort_by_key(|p| std::cmp::Reverse(p.precedence));
        for pipeline in triggered {
            if let Some((_, addr)) = self.pipelines.iter().find(|(n, _)| *n == pipeline.name) {
                self.enqueue_in(&pipeline.name, addr, event.clone());
            }
        }
    }
}

impl Actor for Tenant {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.start_load(ctx);
    }
}

impl Handler<RouteEvent> for Tenant {
    type Result = ();

    fn handle(&mut self, RouteEvent(event): RouteEvent, ctx: &mut Context<Self>) {
        if self
            .def
            .project(&event.connection, &event.project)
            .is_none()
        {
            return;
        }
        self.changes.observe(&event);
        // Only a branch that moved can change the layout; an event about a
        // change is routed on the layout in use, unless a load is under way
        // (then it waits its turn, so events stay in order).
        if event.change.is_some() && !self.loading && self.layout.is_some() {
            self.route(event);
            return;
        }
        self.pending.push(event);
        if !self.loading {
            self.start_load(ctx);
        }
    }
}

impl Handler<StopTenant> for Tenant {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: StopTenant, _: &mut Context<Self>) -> Self::Result {
        let stops: Vec<_> = self
            .pipelines
            .iter()
            .map(|(_, a)| a.send(StopQueues))
            .collect();
        Box::pin(async move {
            join_all(stops).await;
        })
    }
}

impl Handler<GetStatus> for Tenant {
    type Result = ResponseFuture<TenantStatus>;

    fn handle(&mut self, _: GetStatus, _: &mut Context<Self>) -> Self::Result {
        let asks: Vec<_> = self
            .pipelines
            .iter()
            .map(|(_, addr)| addr.send(GetPipelineStatus))
            .collect();
        let mut status = TenantStatus {
            zuul_version: env!("CARGO_PKG_VERSION").to_string(),
            last_reconfigured: self.last_reconfigured.map(|t| t.timestamp_millis()),
            ..TenantStatus::default()
        };
        status.trigger_event_queue.length = self.pending.len();
        Box::pin(async move {
            status.pipelines = join_all(asks).await.into_iter().flatten().collect();
            status
        })
    }
}

impl Handler<GetSummary> for Tenant {
    type Result = ResponseFuture<TenantSummary>;

    fn handle(&mut self, _: GetSummary, _: &mut Context<Self>) -> Self::Result {
        let asks: Vec<_> = self
            .pipelines
            .iter()
            .map(|(_, a)| a.send(CountItems))
            .collect();
        let name = self.def.name.clone();
        let projects = self.def.projects().len();
        Box::pin(async move {
            let queue = join_all(asks).await.into_iter().flatten().sum();
            TenantSummary {
                name,
                projects,
                queue,
            }
        })
    }
}
