//! The Scheduler actor: owns the tenants and routes events to them.

use actix::prelude::*;
use futures_util::future::join_all;
use portcullis_config::TenantConfig;

use crate::admin::{AdminError, RunAdminCommand};
use crate::autohold::Autoholds;
use crate::event::TriggerEvent;
use crate::port::{Ports, SavedQueue};
use crate::status::{TenantStatus, TenantSummary};
use crate::tenant::{
    GetLayout, GetStatus, GetSummary, RouteEvent, StopTenant, Tenant, TenantLayout,
};

/// A trigger event from a driver. Sent through [`crate::EngineHandle::submit`].
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ProcessEvent(pub TriggerEvent);

/// Asks for every tenant's summary, in config order.
#[derive(Debug, Message)]
#[rtype(result = "Vec<TenantSummary>")]
pub struct GetTenants;

/// Asks for one tenant's status; `None` when there is no such tenant.
#[derive(Debug, Message)]
#[rtype(result = "Option<TenantStatus>")]
pub struct GetTenantStatus(pub String);

/// Asks for one tenant's layout; `None` when there is no such tenant.
#[derive(Debug, Message)]
#[rtype(result = "Option<TenantLayout>")]
pub struct GetTenantLayout(pub String);

/// Asks for the engine's autohold requests and the tenant config they are
/// checked against. Sent through [`crate::EngineHandle`]'s autohold methods.
#[derive(Debug, Message)]
#[rtype(result = "(Autoholds, TenantConfig)")]
pub struct GetAutoholds;

/// Stops every pipeline from acting, keeping its saved queue for the next
/// start; answers once the saves are written. Sent when the server stops.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct StopEngine;

/// The root of the actor tree.
pub struct Scheduler {
    config: TenantConfig,
    ports: Ports,
    /// Autohold requests of every tenant; shared with every item.
    autoholds: Autoholds,
    /// Tenant actors in config order, owned here.
    tenants: Vec<(String, Addr<Tenant>)>,
    /// The queues a previous run saved, handed to their tenants at start.
    saved: Vec<SavedQueue>,
}

impl Scheduler {
    /// A scheduler for the tenants of `config`; they start when it starts.
    pub fn new(config: TenantConfig, ports: Ports) -> Self {
        Scheduler {
            config,
            ports,
            autoholds: Autoholds::default(),
            tenants: Vec::new(),
            saved: Vec::new(),
        }
    }

    /// The same scheduler, restoring the queues a previous run saved.
    pub fn restoring(mut self, saved: Vec<SavedQueue>) -> Self {
        self.saved = saved;
        self
    }
}

impl Actor for Scheduler {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        let mut saved = std::mem::take(&mut self.saved);
        for def in &self.config.tenants {
            let (mine, rest) = saved.into_iter().partition(|q| q.tenant == def.name);
            saved = rest;
            let tenant = Tenant::new(def.clone(), self.ports.clone(), self.autoholds.clone());
            let tenant = tenant.restoring(mine).start();
            self.tenants.push((def.name.clone(), tenant));
        }
        for queue in saved {
            tracing::warn!(tenant = %queue.tenant, pipeline = %queue.pipeline, "a saved queue's tenant is gone; its items are not restored");
        }
    }
}

impl Handler<StopEngine> for Scheduler {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: StopEngine, _: &mut Context<Self>) -> Self::Result {
        let stops: Vec<_> = self
            .tenants
            .iter()
            .map(|(_, t)| t.send(StopTenant))
            .collect();
        Box::pin(async move {
            join_all(stops).await;
        })
    }
}

impl Handler<ProcessEvent> for Scheduler {
    type Result = ();

    fn handle(&mut self, ProcessEvent(event): ProcessEvent, _: &mut Context<Self>) {
        tracing::debug!(
            connection = %event.connection, project = %event.project,
            r#ref = %event.ref_name, newrev = %event.newrev, "trigger event"
        );
        // Each tenant ignores events for projects it does not load.
        for (_, tenant) in &self.tenants {
            tenant.do_send(RouteEvent(event.clone()));
        }
    }
}

impl Handler<GetTenants> for Scheduler {
    type Result = ResponseFuture<Vec<TenantSummary>>;

    fn handle(&mut self, _: GetTenants, _: &mut Context<Self>) -> Self::Result {
        let asks: Vec<_> = self
            .tenants
            .iter()
            .map(|(_, t)| t.send(GetSummary))
            .collect();
        Box::pin(async move { join_all(asks).await.into_iter().flatten().collect() })
    }
}

impl Handler<GetTenantStatus> for Scheduler {
    type Result = ResponseFuture<Option<TenantStatus>>;

    fn handle(
        &mut self,
        GetTenantStatus(name): GetTenantStatus,
        _: &mut Context<Self>,
    ) -> Self::Result {
        let tenant = self
            .tenants
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| t.clone());
        Box::pin(async move { tenant?.send(GetStatus).await.ok() })
    }
}

impl Handler<GetTenantLayout> for Scheduler {
    type Result = ResponseFuture<Option<TenantLayout>>;

    fn handle(&mut self, query: GetTenantLayout, _: &mut Context<Self>) -> Self::Result {
        let tenant = self.tenants.iter().find(|(n, _)| *n == query.0);
        let tenant = tenant.map(|(_, t)| t.clone());
        Box::pin(async move { tenant?.send(GetLayout).await.ok() })
    }
}

impl Handler<RunAdminCommand> for Scheduler {
    type Result = ResponseFuture<Result<(), AdminError>>;

    fn handle(&mut self, command: RunAdminCommand, _: &mut Context<Self>) -> Self::Result {
        let name = command.0.tenant().to_string();
        let tenant = self.tenants.iter().find(|(n, _)| *n == name);
        let tenant = tenant.map(|(_, t)| t.clone());
        Box::pin(async move {
            let tenant = tenant.ok_or(AdminError::UnknownTenant(name))?;
            let stopped = |_| Err(AdminError::BadRequest("the tenant stopped".into()));
            tenant.send(command).await.unwrap_or_else(stopped)
        })
    }
}

impl Handler<GetAutoholds> for Scheduler {
    type Result = MessageResult<GetAutoholds>;

    fn handle(&mut self, _: GetAutoholds, _: &mut Context<Self>) -> Self::Result {
        MessageResult((self.autoholds.clone(), self.config.clone()))
    }
}
