//! [`EngineHandle`]: the only way the web layer and the drivers talk to the engine.

use actix::Addr;

use crate::admin::{
    AdminCommand, AdminError, DequeueRequest, EnqueueRequest, PromoteRequest, RunAdminCommand,
};
use crate::autohold::{AutoholdInfo, AutoholdRequest, Autoholds};
use crate::event::TriggerEvent;
use crate::log_hub::LogHub;
use crate::scheduler::{
    GetAutoholds, GetTenantLayout, GetTenantStatus, GetTenants, ProcessEvent, Scheduler, StopEngine,
};
use crate::status::{TenantStatus, TenantSummary};
use crate::tenant::TenantLayout;

/// A cheap, cloneable, thread-safe handle on a running engine.
#[derive(Clone)]
pub struct EngineHandle {
    scheduler: Addr<Scheduler>,
    log_hub: LogHub,
}

/// The answer when the engine is gone.
fn stopped<T>(_: actix::MailboxError) -> Result<T, AdminError> {
    Err(AdminError::BadRequest("the engine is not running".into()))
}

impl EngineHandle {
    /// A handle on the engine run by `scheduler`.
    pub fn new(scheduler: Addr<Scheduler>, log_hub: LogHub) -> Self {
        EngineHandle { scheduler, log_hub }
    }

    /// Hands a trigger event to the engine.
    pub fn submit(&self, event: TriggerEvent) {
        self.scheduler.do_send(ProcessEvent(event));
    }

    /// The tenants, in config order.
    pub async fn tenants(&self) -> Vec<TenantSummary> {
        self.scheduler.send(GetTenants).await.unwrap_or_default()
    }

    /// A tenant's layout and refused config errors; `None` for an unknown tenant.
    pub async fn layout(&self, tenant: &str) -> Option<TenantLayout> {
        let query = GetTenantLayout(tenant.to_string());
        self.scheduler.send(query).await.ok().flatten()
    }

    /// A tenant's status; `None` for an unknown tenant (or a stopped engine).
    pub async fn status(&self, tenant: &str) -> Option<TenantStatus> {
        let query = GetTenantStatus(tenant.to_string());
        self.scheduler.send(query).await.ok().flatten()
    }

    /// Stops every pipeline from acting and waits until the queues they saved
    /// are written: what the next start restores.
    pub async fn stop_queues(&self) {
        let _ = self.scheduler.send(StopEngine).await;
    }

    /// Live logs of running builds.
    pub fn log_hub(&self) -> &LogHub {
        &self.log_hub
    }

    async fn run(&self, command: AdminCommand) -> Result<(), AdminError> {
        let sent = self.scheduler.send(RunAdminCommand(command)).await;
        sent.unwrap_or_else(stopped)
    }

    /// Enqueues a change (one the engine has heard of) or a ref into a pipeline.
    pub async fn enqueue(&self, request: EnqueueRequest) -> Result<(), AdminError> {
        self.run(AdminCommand::Enqueue(request)).await
    }

    /// Dequeues a change or ref from a pipeline (its result: DEQUEUED).
    pub async fn dequeue(&self, request: DequeueRequest) -> Result<(), AdminError> {
        self.run(AdminCommand::Dequeue(request)).await
    }

    /// Moves changes to the head of their queues.
    pub async fn promote(&self, request: PromoteRequest) -> Result<(), AdminError> {
        self.run(AdminCommand::Promote(request)).await
    }

    async fn autoholds(&self) -> Result<(Autoholds, portcullis_config::TenantConfig), AdminError> {
        self.scheduler.send(GetAutoholds).await.or_else(stopped)
    }

    /// Adds an autohold request; returns its id.
    pub async fn autohold(&self, request: AutoholdRequest) -> Result<String, AdminError> {
        let (autoholds, config) = self.autoholds().await?;
        let tenant = config.tenants.iter().find(|t| t.name == request.tenant);
        let tenant = tenant.ok_or_else(|| AdminError::UnknownTenant(request.tenant.clone()))?;
        if !tenant.projects().iter().any(|p| p.name == request.project) {
            return Err(AdminError::UnknownProject(request.project));
        }
        autoholds
            .add(request)
            .map_err(|e| AdminError::BadRequest(e.to_string()))
    }

    /// The autohold requests of a tenant.
    pub async fn autohold_list(&self, tenant: &str) -> Result<Vec<AutoholdInfo>, AdminError> {
        let (autoholds, config) = self.autoholds().await?;
        if !config.tenants.iter().any(|t| t.name == tenant) {
            return Err(AdminError::UnknownTenant(tenant.to_string()));
        }
        Ok(autoholds.list(tenant))
    }

    /// One autohold request.
    pub async fn autohold_get(&self, id: &str) -> Result<Option<AutoholdInfo>, AdminError> {
        Ok(self.autoholds().await?.0.get(id))
    }

    /// Deletes an autohold request; false when there was none.
    pub async fn autohold_delete(&self, id: &str) -> Result<bool, AdminError> {
        Ok(self.autoholds().await?.0.delete(id))
    }
}
