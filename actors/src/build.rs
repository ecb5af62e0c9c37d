//! The Build actor: one run of one job for one item.
//!
//! It opens the build's live log, runs the job through the executor port and
//! tells its item when it started and how it ended. Whatever way it stops —
//! finished, canceled, or dropped while its arbiter unwinds a panic — its item
//! hears exactly one `Completed`, so an item never waits forever.

use actix::prelude::*;
use chrono::{DateTime, Utc};

use crate::port::{BuildLog, BuildOutcome, BuildRequest, Ports};
use crate::result::BuildResult;

/// What a build tells its item. Sent by [`Build`] to the recipient it was given.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub enum BuildEvent {
    /// The build began running (sent once, right before the executor starts).
    Started {
        /// Build uuid.
        uuid: String,
        /// When it began.
        start_time: DateTime<Utc>,
    },
    /// The build ended (sent exactly once).
    Completed {
        /// Build uuid.
        uuid: String,
        /// How it ended.
        outcome: BuildOutcome,
        /// When it ended.
        end_time: DateTime<Utc>,
    },
}

/// Stops a running build; the item hears `Completed` with CANCELED.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct CancelBuild;

/// One job run.
pub struct Build {
    request: BuildRequest,
    ports: Ports,
    /// The owning item, as a recipient of this build's events.
    item: Recipient<BuildEvent>,
    /// True once `Completed` was sent; the Drop guard sends ERROR otherwise.
    reported: bool,
}

impl Build {
    /// A build of `request` that reports to `item`.
    pub fn new(request: BuildRequest, ports: Ports, item: Recipient<BuildEvent>) -> Self {
        Build {
            request,
            ports,
            item,
            reported: false,
        }
    }

    fn report(&mut self, outcome: BuildOutcome) {
        if self.reported {
            return;
        }
        self.reported = true;
        self.ports.log_hub.close(&self.request.uuid);
        tracing::info!(
            build.uuid = %self.request.uuid,
            job = %self.request.job.name,
            result = %outcome.result,
            "build completed"
        );
        self.item.do_send(BuildEvent::Completed {
            uuid: self.request.uuid.clone(),
            outcome,
            end_time: Utc::now(),
        });
    }
}

impl Actor for Build {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let uuid = self.request.uuid.clone();
        tracing::info!(build.uuid = %uuid, job = %self.request.job.name, "build started");
        self.ports.log_hub.open(&uuid);
        self.item.do_send(BuildEvent::Started {
            uuid: uuid.clone(),
            start_time: Utc::now(),
        });
        let log = BuildLog::new(self.ports.log_hub.clone(), uuid);
        let run = self.ports.executor.run(self.request.clone(), log);
        ctx.spawn(run.into_actor(self).map(|outcome, build, ctx| {
            build.report(outcome);
            ctx.stop();
        }));
    }
}

impl Handler<CancelBuild> for Build {
    type Result = ();

    fn handle(&mut self, _: CancelBuild, ctx: &mut Context<Self>) {
        // Stopping drops the executor's future, which kills what it started.
        self.report(BuildOutcome::of(BuildResult::Canceled));
        ctx.stop();
    }
}

impl Drop for Build {
    fn drop(&mut self) {
        if !self.reported {
            self.report(BuildOutcome::error(
                "the build's runner stopped before it reported",
            ));
        }
    }
}
