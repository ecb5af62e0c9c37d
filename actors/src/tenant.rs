//! The Tenant actor: a tenant's layout and its pipelines.
//!
//! A ref update may change the config it is tested with, so the tenant reloads
//! its layout before it routes events: events that arrive during a load wait
//! for the next one, in order.

use std::sync::Arc;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use portcullis_config::{Layout, TenantDef};

use crate::event::TriggerEvent;
use crate::pipeline::{CountItems, EnqueueEvent, GetPipelineStatus, Pipeline, UpdateLayout};
use crate::port::Ports;
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
    layout: Option<Arc<Layout>>,
    last_reconfigured: Option<DateTime<Utc>>,
    /// Pipeline actors in layout order, owned here.
    pipelines: Vec<(String, Addr<Pipeline>)>,
    /// Events waiting for a layout load to finish.
    pending: Vec<TriggerEvent>,
    loading: bool,
}

impl Tenant {
    /// A tenant that loads its layout through `ports.loader` once started.
    pub fn new(def: TenantDef, ports: Ports) -> Self {
        Tenant {
            def,
            ports,
            layout: None,
            last_reconfigured: None,
            pipelines: Vec::new(),
            pending: Vec::new(),
            loading: false,
        }
    }

    fn start_load(&mut self, ctx: &mut Context<Self>) {
        self.loading = true;
        let waiting = self.pending.len();
        let load = self.ports.loader.load(self.def.clone());
        ctx.spawn(load.into_actor(self).map(move |loaded, tenant, ctx| {
            tenant.loading = false;
            match loaded {
                Ok(layout) => tenant.apply_layout(Arc::new(layout), ctx),
                Err(err) => tracing::error!(tenant = %tenant.def.name, %err, "layout not loaded; keeping the previous one"),
            }
            let ready: Vec<_> = tenant.pending.drain(..waiting).collect();
            for event in ready {
                tenant.route(event);
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
        let facts = event.facts();
        for pipeline in layout
            .pipelines
            .iter()
            .filter(|p| p.is_triggered_by(&facts))
        {
            if let Some((_, addr)) = self.pipelines.iter().find(|(n, _)| *n == pipeline.name) {
                addr.do_send(EnqueueEvent(event.clone()));
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
        self.pending.push(event);
        if !self.loading {
            self.start_load(ctx);
        }
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
