//! [`AdminEngine`]: the engine's admin commands as the admin API needs them,
//! a trait so that the handlers can be tested against a fake engine.
//!
//! The request and answer types mirror the engine's admin messages
//! (`EngineHandle::enqueue`, `dequeue`, `promote`, `autohold*`).

use futures_util::future::BoxFuture;
use serde::Serialize;

/// Put a change (`"N,P"`) or a ref into a pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnqueueRequest {
    /// Tenant name.
    pub tenant: String,
    /// Pipeline name.
    pub pipeline: String,
    /// Project name, as the URL gave it.
    pub project: String,
    /// The change, `"N,P"`; `None` for a ref.
    pub change: Option<String>,
    /// The ref (`refs/heads/main`); `None` for a change.
    pub r#ref: Option<String>,
    /// The ref's old revision.
    pub oldrev: Option<String>,
    /// The ref's new revision.
    pub newrev: Option<String>,
}

/// Take a change or a ref out of a pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DequeueRequest {
    /// Tenant name.
    pub tenant: String,
    /// Pipeline name.
    pub pipeline: String,
    /// Project name.
    pub project: String,
    /// The change, `"N,P"`; `None` for a ref.
    pub change: Option<String>,
    /// The ref; `None` for a change.
    pub r#ref: Option<String>,
}

/// Move changes to the head of their queues, in this order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PromoteRequest {
    /// Tenant name.
    pub tenant: String,
    /// Pipeline name.
    pub pipeline: String,
    /// The changes, `"N,P"` each.
    pub changes: Vec<String>,
}

/// Keep the nodes of the next failing builds of a job.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AutoholdRequest {
    /// Tenant name.
    pub tenant: String,
    /// Project name.
    pub project: String,
    /// Job name.
    pub job: String,
    /// A ref regex to match; `None` with `change` also `None`: any ref.
    pub r#ref: Option<String>,
    /// The change whose builds to hold, `"N,P"` or `"N"`.
    pub change: Option<String>,
    /// Why (shown in the list).
    pub reason: String,
    /// How many failing builds to hold.
    pub count: u32,
    /// Seconds to keep the held nodes; `None`: the server's default.
    pub node_hold_expiration: Option<u64>,
}

/// One autohold request, as Zuul lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct AutoholdInfo {
    /// Its id.
    pub id: String,
    /// Tenant name.
    pub tenant: String,
    /// Canonical project name.
    pub project: String,
    /// Job name.
    pub job: String,
    /// The ref regex builds must match.
    pub ref_filter: String,
    /// How many builds to hold.
    pub max_count: u32,
    /// How many are held.
    pub current_count: u32,
    /// Why.
    pub reason: String,
    /// Seconds to keep held nodes.
    pub node_expiration: Option<u64>,
    /// When it expired (epoch seconds), if it did.
    pub expired: Option<f64>,
    /// The held nodes.
    pub nodes: Vec<serde_json::Value>,
}

/// Why the engine refused an admin command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// No such tenant.
    #[error("Unknown tenant {0}")]
    UnknownTenant(String),
    /// No such pipeline in the tenant.
    #[error("Unknown pipeline {0}")]
    UnknownPipeline(String),
    /// No such project in the tenant.
    #[error("Unknown project {0}")]
    UnknownProject(String),
    /// No such change (or not in the pipeline).
    #[error("Unknown change {0}")]
    UnknownChange(String),
    /// The command makes no sense (a ref where a change is needed, ...).
    #[error("{0}")]
    BadRequest(String),
}

/// What the engine answers.
pub type Answer<T> = BoxFuture<'static, Result<T, AdminError>>;

/// The engine's admin commands.
pub trait AdminEngine: Send + Sync {
    /// Enqueues a change or ref.
    fn enqueue(&self, request: EnqueueRequest) -> Answer<()>;
    /// Dequeues a change or ref.
    fn dequeue(&self, request: DequeueRequest) -> Answer<()>;
    /// Promotes changes to the head of their queues.
    fn promote(&self, request: PromoteRequest) -> Answer<()>;
    /// Adds an autohold request; answers its id.
    fn autohold(&self, request: AutoholdRequest) -> Answer<String>;
    /// The autohold requests of a tenant.
    fn autohold_list(&self, tenant: String) -> Answer<Vec<AutoholdInfo>>;
    /// One autohold request by id.
    fn autohold_get(&self, id: String) -> Answer<Option<AutoholdInfo>>;
    /// Deletes an autohold request; false if there was none.
    fn autohold_delete(&self, id: String) -> Answer<bool>;
}

/// The running engine, until its admin commands land: every command is refused.
pub struct Pending(pub portcullis_actors::EngineHandle);

impl AdminEngine for Pending {
    fn enqueue(&self, _: EnqueueRequest) -> Answer<()> {
        refuse()
    }
    fn dequeue(&self, _: DequeueRequest) -> Answer<()> {
        refuse()
    }
    fn promote(&self, _: PromoteRequest) -> Answer<()> {
        refuse()
    }
    fn autohold(&self, _: AutoholdRequest) -> Answer<String> {
        refuse()
    }
    fn autohold_list(&self, _: String) -> Answer<Vec<AutoholdInfo>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    fn autohold_get(&self, _: String) -> Answer<Option<AutoholdInfo>> {
        Box::pin(async { Ok(None) })
    }
    fn autohold_delete(&self, _: String) -> Answer<bool> {
        Box::pin(async { Ok(false) })
    }
}

fn refuse<T: Send + 'static>() -> Answer<T> {
    Box::pin(async {
        Err(AdminError::BadRequest(
            "this engine takes no admin commands yet".into(),
        ))
    })
}
