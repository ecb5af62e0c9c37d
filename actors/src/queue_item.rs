//! The QueueItem actor: one enqueued ref, its frozen job graph and its builds.

use actix::prelude::*;
use chrono::{DateTime, Utc};
use portcullis_config::FrozenJob;

use crate::build::{Build, BuildEvent, CancelBuild};
use crate::event::{ItemRef, TriggerEvent};
use crate::port::{BuildOutcome, BuildRequest, Ports, StoreRecord};
use crate::record_queue::RecordQueue;
use crate::result::{buildset_result, BuildResult};
use crate::status::{ItemStatus, JobStatus, RefStatus};

/// An item finished: every build ended and its buildset is stored. Sent by
/// [`QueueItem`] to its pipeline, once, right before it stops.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct ItemCompleted {
    /// Item id.
    pub id: String,
    /// The buildset's result.
    pub result: BuildResult,
}

/// Asks an item for its status snapshot.
#[derive(Debug, Message)]
#[rtype(result = "ItemStatus")]
pub struct GetItemStatus;

/// Everything an item needs to start.
pub struct ItemSpec {
    /// Tenant name.
    pub tenant: String,
    /// Pipeline name.
    pub pipeline: String,
    /// The event that enqueued it.
    pub event: TriggerEvent,
    /// The frozen jobs to run.
    pub jobs: Vec<FrozenJob>,
}

/// One job of the item and its build.
struct JobSlot {
    job: FrozenJob,
    uuid: String,
    build: Option<Addr<Build>>,
    start_time: Option<DateTime<Utc>>,
    end_time: Option<DateTime<Utc>>,
    outcome: Option<BuildOutcome>,
}

/// One enqueued ref and its builds.
pub struct QueueItem {
    id: String,
    buildset_uuid: String,
    spec: ItemSpec,
    item: ItemRef,
    enqueue_time: DateTime<Utc>,
    jobs: Vec<JobSlot>,
    ports: Ports,
    /// The pipeline, as a recipient of this item's completion.
    pipeline: Recipient<ItemCompleted>,
    records: RecordQueue,
    completed: bool,
}

impl QueueItem {
    /// An item for `spec` reporting to `pipeline`; must be started inside a runtime.
    pub fn new(spec: ItemSpec, ports: Ports, pipeline: Recipient<ItemCompleted>) -> Self {
        let new_uuid = || uuid::Uuid::new_v4().simple().to_string();
        let jobs = spec
            .jobs
            .iter()
            .map(|job| JobSlot {
                job: job.clone(),
                uuid: new_uuid(),
                build: None,
                start_time: None,
                end_time: None,
                outcome: None,
            })
            .collect();
        QueueItem {
            id: new_uuid(),
            buildset_uuid: new_uuid(),
            item: ItemRef::from_event(&spec.event),
            spec,
            enqueue_time: Utc::now(),
            jobs,
            records: RecordQueue::start(ports.store.clone()),
            ports,
            pipeline,
            completed: false,
        }
    }

    /// The item's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn start_builds(&mut self, ctx: &mut Context<Self>) {
        let me = ctx.address().recipient();
        for slot in &mut self.jobs {
            let request = BuildRequest {
                uuid: slot.uuid.clone(),
                buildset_uuid: self.buildset_uuid.clone(),
                tenant: self.spec.tenant.clone(),
                pipeline: self.spec.pipeline.clone(),
                item: self.item.clone(),
                job: slot.job.clone(),
            };
            slot.build = Some(Build::new(request, self.ports.clone(), me.clone()).start());
        }
    }

    fn slot(&mut self, uuid: &str) -> Option<&mut JobSlot> {
        self.jobs.iter_mut().find(|s| s.uuid == uuid)
    }

    fn finish(&mut self, ctx: &mut Context<Self>) {
        let result = buildset_result(self.jobs.iter().map(|s| {
            let result = s.outcome.as_ref().map_or(BuildResult::Error, |o| o.result);
            (s.job.voting, result)
        }));
        let message = match result {
            BuildResult::Success => "Build succeeded.",
            _ => "Build failed.",
        };
        self.records.push(StoreRecord::BuildsetFinished {
            uuid: self.buildset_uuid.clone(),
            result,
            message: message.to_string(),
            end_time: Utc::now(),
        });
        let completed = ItemCompleted {
            id: self.id.clone(),
            result,
        };
        // Tell the pipeline only once the history holds the result, so a client
        // that sees the item leave the status finds its buildset in the store.
        ctx.wait(
            self.records
                .flushed()
                .into_actor(self)
                .map(move |_, item, ctx| {
                    item.completed = true;
                    item.pipeline.do_send(completed);
                    ctx.stop();
                }),
        );
    }
}

impl Actor for QueueItem {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        tracing::info!(
            tenant = %self.spec.tenant,
            pipeline = %self.spec.pipeline,
            project = %self.item.project,
            r#ref = %self.item.ref_name,
            item = %self.id,
            "item enqueued"
        );
        self.records.push(StoreRecord::BuildsetStarted {
            uuid: self.buildset_uuid.clone(),
            tenant: self.spec.tenant.clone(),
            pipeline: self.spec.pipeline.clone(),
            item: self.item.clone(),
            event_id: self.spec.event.id.clone(),
            event_timestamp: self.spec.event.timestamp,
        });
        self.start_builds(ctx);
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        // An item stopped early (dequeued, or its pipeline went away) cancels its builds.
        for slot in &mut self.jobs {
            if let Some(build) = slot.build.take() {
                build.do_send(CancelBuild);
            }
        }
    }
}

impl Handler<BuildEvent> for QueueItem {
    type Result = ();

    fn handle(&mut self, event: BuildEvent, ctx: &mut Context<Self>) {
        match event {
            BuildEvent::Started { uuid, start_time } => {
                let buildset_uuid = self.buildset_uuid.clone();
                let Some(slot) = self.slot(&uuid) else { return };
                slot.start_time = Some(start_time);
                let record = StoreRecord::BuildStarted {
                    buildset_uuid,
                    uuid,
                    job_name: slot.job.name.clone(),
                    voting: slot.job.voting,
                    nodeset: slot.job.nodeset.name.clone(),
                    start_time,
                };
                self.records.push(record);
            }
            BuildEvent::Completed {
                uuid,
                outcome,
                end_time,
            } => {
                let Some(slot) = self.slot(&uuid) else { return };
                if slot.outcome.is_some() {
                    return;
                }
                slot.build = None;
                slot.end_time = Some(end_time);
                slot.outcome = Some(outcome.clone());
                self.records.push(StoreRecord::BuildFinished {
                    uuid,
                    result: outcome.result,
                    end_time,
                    log_url: outcome.log_url,
                    error_detail: outcome.error_detail,
                });
                let all_done = self.jobs.iter().all(|s| s.outcome.is_some());
                if all_done && !self.completed {
                    self.finish(ctx);
                }
            }
        }
    }
}

impl Handler<GetItemStatus> for QueueItem {
    type Result = MessageResult<GetItemStatus>;

    fn handle(&mut self, _: GetItemStatus, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.status())
    }
}

impl QueueItem {
    fn status(&self) -> ItemStatus {
        let now = Utc::now();
        let jobs = self.jobs.iter().map(|s| self.job_status(s, now)).collect();
        ItemStatus {
            id: self.id.clone(),
            refs: vec![RefStatus {
                id: self.item.newrev.clone(),
                project: self.item.project.clone(),
                project_canonical: self.item.project.clone(),
                ref_name: self.item.ref_name.clone(),
                url: None,
                owner: None,
            }],
            active: true,
            live: true,
            item_ahead: None,
            items_behind: Vec::new(),
            failing_reasons: Vec::new(),
            zuul_ref: self.item.ref_name.clone(),
            enqueue_time: self.enqueue_time.timestamp_millis(),
            remaining_time: None,
            jobs,
        }
    }

    fn job_status(&self, slot: &JobSlot, now: DateTime<Utc>) -> JobStatus {
        let started = slot.start_time.is_some();
        let elapsed = slot
            .start_time
            .map(|start| (slot.end_time.unwrap_or(now) - start).num_milliseconds());
        let seconds = |t: DateTime<Utc>| t.timestamp_millis() as f64 / 1000.0;
        JobStatus {
            name: slot.job.name.clone(),
            dependencies: Vec::new(),
            uuid: started.then(|| slot.uuid.clone()),
            result: slot.outcome.as_ref().map(|o| o.result.to_string()),
            voting: slot.job.voting,
            elapsed_time: elapsed,
            remaining_time: slot.outcome.as_ref().map(|_| 0),
            url: started.then(|| format!("stream/{}?logfile=console.log", slot.uuid)),
            report_url: slot.outcome.as_ref().and_then(|o| o.log_url.clone()),
            start_time: slot.start_time.map(seconds),
            end_time: slot.end_time.map(seconds),
            estimated_time: None,
            pipeline: Some(self.spec.pipeline.clone()),
            canceled: Some(matches!(
                slot.outcome.as_ref().map(|o| o.result),
                Some(BuildResult::Canceled)
            )),
            queued: !started,
            waiting_status: None,
            tries: 1,
        }
    }
}
