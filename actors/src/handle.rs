//! [`EngineHandle`]: the only way the web layer and the drivers talk to the engine.

use actix::Addr;

use crate::event::TriggerEvent;
use crate::log_hub::LogHub;
use crate::scheduler::{GetTenantStatus, GetTenants, ProcessEvent, Scheduler};
use crate::status::{TenantStatus, TenantSummary};

/// A cheap, cloneable, thread-safe handle on a running engine.
#[derive(Clone)]
pub struct EngineHandle {
    scheduler: Addr<Scheduler>,
    log_hub: LogHub,
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

    /// A tenant's status; `None` for an unknown tenant (or a stopped engine).
    pub async fn status(&self, tenant: &str) -> Option<TenantStatus> {
        let query = GetTenantStatus(tenant.to_string());
        self.scheduler.send(query).await.ok().flatten()
    }

    /// Live logs of running builds.
    pub fn log_hub(&self) -> &LogHub {
        &self.log_hub
    }
}
