//! Admin commands on a tenant: checked against its layout and projects, then
//! handed to the pipeline.

use actix::prelude::*;

use super::Tenant;
use crate::admin::{parse_change, AdminCommand, AdminError, EnqueueRequest, RunAdminCommand};
use crate::event::{TriggerEvent, NULL_REV};
use crate::pipeline::{DequeueItems, Pipeline, PromoteItems};

impl Tenant {
    fn pipeline_addr(&self, name: &str) -> Result<Addr<Pipeline>, AdminError> {
        let found = self.pipelines.iter().find(|(n, _)| n == name);
        found
            .map(|(_, addr)| addr.clone())
            .ok_or_else(|| AdminError::UnknownPipeline(name.to_string()))
    }

    /// The connection of the tenant's project `name`.
    fn connection_of(&self, name: &str) -> Result<String, AdminError> {
        let projects = self.def.projects();
        let found = projects.into_iter().find(|p| p.name == name);
        found
            .map(|p| p.connection)
            .ok_or_else(|| AdminError::UnknownProject(name.to_string()))
    }

    /// The event an admin's enqueue stands for.
    fn enqueue_event(&self, request: &EnqueueRequest) -> Result<TriggerEvent, AdminError> {
        let connection = self.connection_of(&request.project)?;
        match (&request.change, &request.r#ref) {
            (Some(change), None) => {
                let (number, patchset) = parse_change(change)?;
                let known = self.changes.get(&request.project, number);
                let known = known.map(|k| (*k.event).clone()).filter(|event| {
                    let latest = event.change.as_ref().map(|c| c.patchset.as_str());
                    patchset.is_none() || patchset == latest
                });
                let unknown = || AdminError::UnknownChange(format!("{} {change}", request.project));
                let mut event = known.ok_or_else(unknown)?;
                event.id = uuid::Uuid::new_v4().simple().to_string();
                event.timestamp = chrono::Utc::now();
                Ok(event)
            }
            (None, Some(ref_name)) => Ok(TriggerEvent::ref_updated(
                &connection,
                &request.project,
                ref_name,
                request.oldrev.as_deref().unwrap_or(NULL_REV),
                request.newrev.as_deref().unwrap_or(NULL_REV),
            )),
            _ => Err(AdminError::BadRequest(
                "give a change or a ref (one of them)".into(),
            )),
        }
    }
}

/// A pipeline's answer to a forwarded command.
type Answer =
    futures_util::future::BoxFuture<'static, Result<Result<(), AdminError>, actix::MailboxError>>;

/// The answer to an admin command, once the tenant has one.
pub type Outcome = futures_util::future::BoxFuture<'static, Result<(), AdminError>>;

impl Tenant {
    /// Checks `command` against the layout and hands it to its pipeline.
    pub(super) fn execute(&self, command: AdminCommand) -> Outcome {
        let checked = self
            .pipeline_addr(command.pipeline())
            .and_then(|pipeline| match &command {
                AdminCommand::Enqueue(request) => {
                    let event = self.enqueue_event(request)?;
                    self.enqueue_in(command.pipeline(), &pipeline, event);
                    Ok(None)
                }
                AdminCommand::Dequeue(request) => {
                    self.connection_of(&request.project)?;
                    let dequeue = DequeueItems {
                        project: request.project.clone(),
                        change: request.change.clone(),
                        r#ref: request.r#ref.clone(),
                        live_only: false,
                    };
                    Ok(Some(Box::pin(pipeline.send(dequeue)) as Answer))
                }
                AdminCommand::Promote(request) => {
                    let promote = PromoteItems(request.changes.clone());
                    Ok(Some(Box::pin(pipeline.send(promote)) as Answer))
                }
            });
        Box::pin(async move {
            match checked? {
                None => Ok(()),
                Some(answer) => answer
                    .await
                    .unwrap_or_else(|_| Err(AdminError::BadRequest("the pipeline stopped".into()))),
            }
        })
    }
}

impl Handler<RunAdminCommand> for Tenant {
    type Result = ResponseFuture<Result<(), AdminError>>;

    fn handle(
        &mut self,
        RunAdminCommand(command): RunAdminCommand,
        _: &mut Context<Self>,
    ) -> Self::Result {
        if !self.loading {
            return self.execute(command);
        }
        // Run it against the layout being loaded, after the events before it.
        let (answer, outcome) = tokio::sync::oneshot::channel();
        self.pending_admin.push((command, answer));
        Box::pin(async move {
            let gone = || AdminError::BadRequest("the tenant stopped".into());
            outcome.await.map_err(|_| gone())?
        })
    }
}
