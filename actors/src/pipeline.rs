//! The Pipeline actor: a pipeline of one tenant, its change queues and its
//! manager's rules.
//!
//! The queues are plain data ([`change_queue`]); after anything happens (an
//! enqueue, news from an item, a delivered report, an admin command) the
//! pipeline walks every queue and carries out what the walk asks for.
//!
//! | module | what it holds |
//! |---|---|
//! | [`change_queue`] | queues, windows and the walk that decides |
//! | [`manager`] | independent, dependent, serial and supercedent rules |
//! | `report` | delivering reports in order, merge failures |
//! | `admin` | dequeue, promote, stale patchsets |
//! | `status` | the pipeline's part of Zuul's status |

pub mod change_queue;
pub mod manager;

mod admin;
mod report;
mod status;

use std::collections::HashMap;
use std::sync::Arc;

use actix::prelude::*;
use portcullis_config::pipeline::Manager;
use portcullis_config::Layout;

use crate::autohold::Autoholds;
use crate::event::{ItemRef, TriggerEvent};
use crate::port::Ports;
use crate::queue_item::{
    CancelJobs, FinishItem, ItemCompleted, ItemListeners, ItemProgressed, ItemSpec, Progress,
    QueueItem, StartBuildset,
};
use crate::result::BuildResult;
use change_queue::{Action, ChangeQueue, QueueEntry};

pub use admin::{DequeueItems, DequeueStaleChange, PromoteItems};
pub use status::GetPipelineStatus;

/// Enqueues an item for a trigger event that matched this pipeline (or an
/// admin's enqueue). Sent by the Tenant.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct EnqueueEvent(pub TriggerEvent);

/// Replaces the layout the pipeline freezes new items with. Sent by the Tenant on reconfiguration.
#[derive(Message)]
#[rtype(result = "()")]
pub struct UpdateLayout(pub Arc<Layout>);

/// Asks how many items the pipeline holds.
#[derive(Debug, Message)]
#[rtype(result = "usize")]
pub struct CountItems;

/// One pipeline of a tenant.
pub struct Pipeline {
    tenant: String,
    name: String,
    layout: Arc<Layout>,
    ports: Ports,
    autoholds: Autoholds,
    /// Change queues; entries are the items still to report.
    queues: Vec<ChangeQueue>,
    /// Every item actor still alive (queued or finishing), owned here.
    items: HashMap<String, Addr<QueueItem>>,
    /// Items finishing (reported or dequeued) until they say they completed, with their ref.
    leaving: Vec<(String, ItemRef)>,
}

impl Pipeline {
    /// The pipeline `name` of `layout`.
    pub fn new(
        tenant: String,
        name: String,
        layout: Arc<Layout>,
        ports: Ports,
        autoholds: Autoholds,
    ) -> Self {
        Pipeline {
            tenant,
            name,
            layout,
            ports,
            autoholds,
            queues: Vec::new(),
            items: HashMap::new(),
            leaving: Vec::new(),
        }
    }

    fn manager(&self) -> Manager {
        self.layout
            .pipeline(&self.name)
            .map_or(Manager::Independent, |p| p.manager)
    }

    /// Where the entry `id` is: (queue index, entry index).
    fn locate(&self, id: &str) -> Option<(usize, usize)> {
        self.queues.iter().enumerate().find_map(|(q, queue)| {
            let found = queue.entries.iter().position(|e| e.id == id);
            found.map(|e| (q, e))
        })
    }

    fn entries(&self) -> impl Iterator<Item = &QueueEntry> {
        self.queues.iter().flat_map(|q| q.entries.iter())
    }

    /// Walks every queue and carries out what the walks ask for.
    fn process(&mut self, ctx: &mut Context<Self>) {
        let rules = manager::rules(self.manager());
        let mut reports = Vec::new();
        for queue in &mut self.queues {
            for action in queue.process(rules) {
                match action {
                    Action::Start {
                        id,
                        generation,
                        merge,
                    } => {
                        if let Some(item) = self.items.get(&id) {
                            item.do_send(StartBuildset { generation, merge });
                        }
                    }
                    Action::Cancel { id, generation } => {
                        if let Some(item) = self.items.get(&id) {
                            item.do_send(CancelJobs { generation });
                        }
                    }
                    Action::Report { id } => reports.push(id),
                }
            }
        }
        for id in reports {
            self.report(&id, ctx);
        }
        let independent = self.manager() == Manager::Independent;
        self.queues
            .retain(|q| !(independent && q.entries.is_empty()));
    }

    /// Takes the entry out of its queue and tells its item to end with `result`.
    fn finish(&mut self, id: &str, result: BuildResult, message: String) -> Option<QueueEntry> {
        let (q, e) = self.locate(id)?;
        let entry = self.queues[q].entries.remove(e);
        if let Some(item) = self.items.get(id) {
            item.do_send(FinishItem { result, message });
        }
        self.leaving.push((id.to_string(), entry.item.clone()));
        tracing::info!(
            tenant = %self.tenant, pipeline = %self.name, item = %id,
            change = %entry.item.id(), %result, "item leaves the pipeline"
        );
        Some(entry)
    }

    fn enqueue(&mut self, event: TriggerEvent, ctx: &mut Context<Self>) {
        let item = ItemRef::from_event(&event);
        let layout = self.layout.clone();
        let Some(pipeline) = layout.pipeline(&self.name) else {
            return;
        };
        if item.change.is_some() {
            self.dequeue_stale(&item, false);
            if self
                .entries()
                .any(|e| e.item.id() == item.id() && e.item.project == item.project)
            {
                tracing::debug!(pipeline = %self.name, change = %item.id(), "already enqueued");
                return;
            }
        }
        let tenant = self.tenant.clone();
        let autoholds = self.autoholds.clone();
        let Some(spec) = ItemSpec::at_enqueue(tenant, &self.name, layout.clone(), event, autoholds)
        else {
            return;
        };
        let place = manager::place(&layout, pipeline, &item);
        let needs = match self.needs(&item, &place) {
            Ok(needs) => needs,
            Err(reason) => {
                tracing::warn!(pipeline = %self.name, change = %item.id(), %reason, "not enqueued");
                return;
            }
        };
        let q = self.queue_for(&place, manager::window(pipeline));
        for id in manager::superseded(pipeline.manager, &self.queues[q]) {
            self.finish(
                &id,
                BuildResult::Dequeued,
                "Superseded by a newer item.".into(),
            );
        }
        let listeners = ItemListeners {
            progress: ctx.address().recipient(),
            completed: ctx.address().recipient(),
        };
        let queue_item = QueueItem::new(spec, self.ports.clone(), listeners);
        let id = queue_item.id().to_string();
        self.items.insert(id.clone(), queue_item.start());
        let mode = manager::merge_mode(&layout, &item.project);
        let mut entry = QueueEntry::new(id, item, mode);
        entry.needs = needs;
        self.queues[q].entries.push(entry);
        self.process(ctx);
    }

    /// The index of the queue for `place`, made when missing.
    fn queue_for(
        &mut self,
        place: &manager::QueuePlace,
        window: portcullis_config::pipeline::Window,
    ) -> usize {
        let existing = self
            .queues
            .iter()
            .position(|q| !place.own && q.name == place.name && q.branch == place.branch);
        existing.unwrap_or_else(|| {
            let queue = ChangeQueue::new(place.name.clone(), place.branch.clone(), window);
            self.queues.push(queue);
            self.queues.len() - 1
        })
    }

    /// The enqueued items a gated change depends on (its Depends-On): they must
    /// be in the same queue, ahead of it. Changes not enqueued are taken as merged.
    fn needs(&self, item: &ItemRef, place: &manager::QueuePlace) -> Result<Vec<String>, String> {
        let Some(change) = &item.change else {
            return Ok(Vec::new());
        };
        if self.manager() != Manager::Dependent {
            return Ok(Vec::new());
        }
        let mut needs = Vec::new();
        for reference in &change.depends_on {
            for queue in &self.queues {
                let Some(needed) = queue.entries.iter().find(|e| e.item.is_named_by(reference))
                else {
                    continue;
                };
                if queue.name != place.name || queue.branch != place.branch {
                    return Err(format!(
                        "it depends on {reference}, which is in another queue"
                    ));
                }
                needs.push(needed.id.clone());
            }
        }
        Ok(needs)
    }
}

impl Actor for Pipeline {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Context<Self>) {
        tracing::info!(tenant = %self.tenant, pipeline = %self.name, "pipeline stopped");
    }
}

impl Handler<EnqueueEvent> for Pipeline {
    type Result = ();

    fn handle(&mut self, EnqueueEvent(event): EnqueueEvent, ctx: &mut Context<Self>) {
        self.enqueue(event, ctx);
    }
}

impl Handler<ItemProgressed> for Pipeline {
    type Result = ();

    fn handle(&mut self, news: ItemProgressed, ctx: &mut Context<Self>) {
        let messages = self.layout.pipeline(&self.name).map(|p| p.messages.clone());
        let messages = messages.unwrap_or_default();
        let Some((q, e)) = self.locate(&news.id) else {
            return;
        };
        let entry = &mut self.queues[q].entries[e];
        if entry.generation != news.generation || entry.outcome.is_some() {
            return;
        }
        match news.progress {
            Progress::JobFailed { job } => {
                tracing::info!(item = %news.id, %job, "a voting job failed");
                entry.failing.push("at least one job failed".into());
            }
            Progress::JobsCompleted { result } => {
                if result != BuildResult::Success && entry.failing.is_empty() {
                    entry.failing.push("at least one job failed".into());
                }
                let text = match result {
                    BuildResult::Success => messages.success,
                    _ => messages.failure,
                };
                entry.outcome = Some((result, text));
            }
            Progress::ConfigError { message } => {
                entry.failing.push("it has an invalid configuration".into());
                entry.outcome = Some((BuildResult::ConfigError, message));
            }
            Progress::NoJobs => entry.outcome = Some((BuildResult::NoJobs, messages.no_jobs)),
            Progress::MergeFailed { conflict, detail } => {
                entry.failing.push("it has a merge conflict".into());
                let outcome = match conflict {
                    true => (BuildResult::MergeConflict, messages.merge_conflict),
                    false => (BuildResult::Error, format!("The merger failed: {detail}")),
                };
                entry.outcome = Some(outcome);
            }
        }
        self.process(ctx);
    }
}

impl Handler<ItemCompleted> for Pipeline {
    type Result = ();

    fn handle(&mut self, done: ItemCompleted, _: &mut Context<Self>) {
        tracing::info!(pipeline = %self.name, item = %done.id, result = %done.result, "item completed");
        self.items.remove(&done.id);
        self.leaving.retain(|(id, _)| *id != done.id);
    }
}

impl Handler<UpdateLayout> for Pipeline {
    type Result = ();

    fn handle(&mut self, UpdateLayout(layout): UpdateLayout, _: &mut Context<Self>) {
        self.layout = layout;
    }
}

impl Handler<CountItems> for Pipeline {
    type Result = usize;

    fn handle(&mut self, _: CountItems, _: &mut Context<Self>) -> usize {
        self.items.len()
    }
}
