//! What the admin API asks of the engine (enqueue, dequeue, promote), and
//! why it may refuse. The web layer calls these through [`crate::EngineHandle`].
//!
//! Enqueueing a change needs what the change is (its patchset, message,
//! Depends-On, target branch). The engine cannot fetch that on plain git, so
//! it remembers every change its trigger events carried (the git driver sends
//! one for each new patchset) and enqueues from that memory; a change it has
//! never heard of is an [`AdminError::UnknownChange`].

use actix::Message;

/// Enqueues a ref or a change into a pipeline, bypassing its triggers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnqueueRequest {
    /// Tenant name.
    pub tenant: String,
    /// Pipeline name.
    pub pipeline: String,
    /// Project name.
    pub project: String,
    /// The change as `N,P` (or `N`: its latest known patchset).
    pub change: Option<String>,
    /// The ref (`refs/heads/main`), for a ref item.
    pub r#ref: Option<String>,
    /// The ref's old revision.
    pub oldrev: Option<String>,
    /// The ref's new revision.
    pub newrev: Option<String>,
}

/// Removes a ref or change from a pipeline without a result (DEQUEUED).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DequeueRequest {
    /// Tenant name.
    pub tenant: String,
    /// Pipeline name.
    pub pipeline: String,
    /// Project name.
    pub project: String,
    /// The change as `N,P` (or `N`: any patchset).
    pub change: Option<String>,
    /// The ref, for ref items.
    pub r#ref: Option<String>,
}

/// Moves changes to the head of their queues, in the order given; everything
/// behind them is retested.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PromoteRequest {
    /// Tenant name.
    pub tenant: String,
    /// Pipeline name.
    pub pipeline: String,
    /// Changes as `N,P`, first to be first.
    pub changes: Vec<String>,
}

/// Why an admin command was refused; each names what it could not find.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// No tenant of that name.
    #[error("unknown tenant {0}")]
    UnknownTenant(String),
    /// No pipeline of that name in the tenant.
    #[error("unknown pipeline {0}")]
    UnknownPipeline(String),
    /// No project of that name in the tenant.
    #[error("unknown project {0}")]
    UnknownProject(String),
    /// No such change known (or enqueued, for dequeue and promote).
    #[error("unknown change {0}")]
    UnknownChange(String),
    /// The request makes no sense as given.
    #[error("bad request: {0}")]
    BadRequest(String),
}

/// An admin command for a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminCommand {
    /// See [`EnqueueRequest`].
    Enqueue(EnqueueRequest),
    /// See [`DequeueRequest`].
    Dequeue(DequeueRequest),
    /// See [`PromoteRequest`].
    Promote(PromoteRequest),
}

impl AdminCommand {
    /// The tenant it is for.
    pub fn tenant(&self) -> &str {
        match self {
            AdminCommand::Enqueue(r) => &r.tenant,
            AdminCommand::Dequeue(r) => &r.tenant,
            AdminCommand::Promote(r) => &r.tenant,
        }
    }

    /// The pipeline it is for.
    pub fn pipeline(&self) -> &str {
        match self {
            AdminCommand::Enqueue(r) => &r.pipeline,
            AdminCommand::Dequeue(r) => &r.pipeline,
            AdminCommand::Promote(r) => &r.pipeline,
        }
    }
}

/// Carries out an admin command. Sent through [`crate::EngineHandle`] to the
/// Scheduler, which hands it to the tenant.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), AdminError>")]
pub struct RunAdminCommand(pub AdminCommand);

/// Splits `N,P` (or `N`) into the change number and the patchset, if given.
pub fn parse_change(change: &str) -> Result<(u64, Option<&str>), AdminError> {
    let (number, patchset) = match change.split_once(',') {
        Some((n, p)) => (n, Some(p.trim())),
        None => (change, None),
    };
    let number = number
        .trim()
        .parse()
        .map_err(|_| AdminError::BadRequest(format!("change {change} is not N,P")))?;
    Ok((number, patchset.filter(|p| !p.is_empty())))
}
