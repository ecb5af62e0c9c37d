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
//! | [`dependency`] | the changes a change needs (Depends-On, git parents) |
//! | [`manager`] | independent, dependent, serial and supercedent rules |
//! | `report` | delivering reports in order, merge failures |
//! | `admin` | dequeue, promote, stale patchsets |
//! | `status` | the pipeline's part of Zuul's status |

pub mod change_queue;
pub mod dependency;
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
use crate::known_changes::KnownChanges;
use crate::port::{Ports, SavedQueue, StoreRecord};
use crate::queue_item::{
    CancelJobs, FinishItem, ItemCompleted, ItemListeners, ItemProgressed, ItemSpec, Progress,
    QueueItem, StartBuildset,
};
use crate::record_queue::RecordQueue;
use crate::result::BuildResult;
use change_queue::{Action, ChangeQueue, QueueEntry};
use dependency::Refusal;

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

/// Enqueues the items a restart restores, in their saved order. Sent by the
/// Tenant once its first layout is loaded.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct RestoreItems(pub Vec<TriggerEvent>);

/// Tells the pipeline the server stops: it acts on nothing more (no builds,
/// no reports, no saves), so the queue it saved last is what the next start
/// restores. Answers once every save is written.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct StopQueues;

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
    /// The tenant's known changes: where needed changes are found.
    changes: KnownChanges,
    /// The event each live item was enqueued from, by item id: what is saved.
    events: HashMap<String, TriggerEvent>,
    /// The ids of the live items as last saved, in queue order.
    saved: Vec<String>,
    /// Writes the saved queue, in order.
    saves: RecordQueue,
    /// True once the server stops: nothing more is acted on or saved.
    stopping: bool,
}

impl Pipeline {
    /// The pipeline `name` of `layout`.
    pub fn new(
        tenant: String,
        name: String,
        layout: Arc<Layout>,
        ports: Ports,
        autoholds: Autoholds,
        changes: KnownChanges,
    ) -> Self {
        Pipeline {
            tenant,
            name,
            layout,
            autoholds,
            queues: Vec::new(),
            items: HashMap::new(),
            leaving: Vec::new(),
            saves: RecordQueue::start(ports.store.clone()),
            ports,
            changes,
            events: HashMap::new(),
            saved: Vec::new(),
            stopping: false,
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
        if self.stopping {
            return;
        }
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
        // A queue of one item goes with it, and with it the changes it carried.
        self.queues
            .retain(|q| !q.own || q.entries.iter().any(|e| e.live));
        self.save();
    }

    /// Saves the live items when they changed since the last save: written
    /// behind the engine, in order, so a crash loses at most the saves still
    /// on their way to the store.
    fn save(&mut self) {
        let live = self.entries().filter(|e| e.live).map(|e| e.id.clone());
        let live: Vec<String> = live.collect();
        if live == self.saved {
            return;
        }
        let keep: std::collections::HashSet<&String> = live.iter().collect();
        self.events.retain(|id, _| keep.contains(id));
        let events = live.iter().filter_map(|id| self.events.get(id).cloned());
        self.saves.push(StoreRecord::QueueSaved(SavedQueue {
            tenant: self.tenant.clone(),
            pipeline: self.name.clone(),
            events: events.collect(),
        }));
        self.saved = live;
    }

    /// Takes the entry out of its queue and tells its item to end with `result`.
    fn finish(&mut self, id: &str, result: BuildResult, message: String) -> Option<QueueEntry> {
        let (q, e) = self.locate(id)?;
        let entry = self.queues[q].entries.remove(e);
        if !entry.live {
            return Some(entry);
        }
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
            if self.live_entry(&item).is_some() {
                tracing::debug!(pipeline = %self.name, change = %item.id(), "already enqueued");
                return;
            }
        }
        let Some(spec) = self.spec_for(&event) else {
            return;
        };
        let place = manager::place(&layout, pipeline, &item);
        let (closure, needed) = match self.needed_ahead(&item, &place) {
            Ok(needed) => needed,
            Err(refusal) => return self.refuse(event, refusal, ctx),
        };
        let q = self.queue_for(&place, manager::window(pipeline));
        for id in manager::superseded(pipeline.manager, &self.queues[q]) {
            self.finish(
                &id,
                BuildResult::Dequeued,
                "Superseded by a newer item.".into(),
            );
        }
        for (event, spec) in needed {
            self.admit(q, event, spec, ctx);
        }
        let cycles = manager::allows_cycles(&layout, &self.name, &item);
        let mut changes = closure;
        changes.push(Arc::new(event.clone()));
        self.admit(q, event, Some(spec), ctx);
        if cycles {
            self.join_cycles(q, &changes);
        }
        self.process(ctx);
    }

    /// Marks the entries of queue `q` that hold `changes` (a change and all it
    /// needs) with the cycle each is in. An entry queued before that now joins
    /// a cycle starts over, so that its state holds the whole cycle.
    fn join_cycles(&mut self, q: usize, changes: &[Arc<TriggerEvent>]) {
        let cycles = dependency::cycles(&self.changes, changes);
        let entries = &mut self.queues[q].entries;
        let index_of =
            |event: &Arc<TriggerEvent>| entries.iter().position(|e| e.item.is_change_of(event));
        let indexes: Vec<Option<usize>> = changes.iter().map(index_of).collect();
        for (at, first) in indexes.iter().zip(cycles) {
            let (Some(at), Some(first)) = (at, first.and_then(|f| indexes[f])) else {
                continue;
            };
            let cycle = Some(entries[first].id.clone());
            let entry = &mut entries[*at];
            if entry.cycle != cycle && entry.generation > 0 {
                entry.base = None;
                entry.outcome = None;
                entry.failing.clear();
            }
            entry.cycle = cycle;
        }
    }

    /// What an item of `event` starts from here; `None` when its project has no jobs.
    fn spec_for(&self, event: &TriggerEvent) -> Option<ItemSpec> {
        let (tenant, autoholds) = (self.tenant.clone(), self.autoholds.clone());
        let layout = self.layout.clone();
        ItemSpec::at_enqueue(tenant, &self.name, layout, event.clone(), autoholds)
    }

    /// Puts an entry for `event` at the end of queue `q`, live (with an item
    /// actor started from `spec`) when there is a spec.
    fn admit(
        &mut self,
        q: usize,
        event: TriggerEvent,
        spec: Option<ItemSpec>,
        ctx: &mut Context<Self>,
    ) -> String {
        let item = ItemRef::from_event(&event);
        let needed = dependency::needed_keys(&self.changes, &item);
        let is_needed = |e: &&QueueEntry| {
            let number = e.item.change.as_ref().map(|c| c.number);
            needed
                .iter()
                .any(|(p, n)| number == Some(*n) && e.item.project == *p)
        };
        // Only live items are waited for: carried changes never report.
        let needs = self.queues[q]
            .entries
            .iter()
            .filter(|e| e.live)
            .filter(is_needed);
        let needs = needs.map(|e| e.id.clone()).collect();
        let jobs = spec.as_ref().and_then(|s| s.jobs.as_ref().ok());
        let hold_following = jobs.is_some_and(|j| j.iter().any(|j| j.hold_following_changes));
        let live = spec.is_some();
        let id = match spec {
            Some(spec) => self.start_item(spec, ctx),
            None => uuid::Uuid::new_v4().simple().to_string(),
        };
        if live {
            self.events.insert(id.clone(), event);
        }
        let mode = manager::merge_mode(&self.layout, &item.project);
        let mut entry = QueueEntry::new(id.clone(), item, mode);
        entry.hold_following = hold_following;
        entry.needs = needs;
        entry.live = live;
        self.queues[q].entries.push(entry);
        id
    }

    /// Starts the item actor of `spec`; returns its id.
    fn start_item(&mut self, spec: ItemSpec, ctx: &mut Context<Self>) -> String {
        let listeners = ItemListeners {
            progress: ctx.address().recipient(),
            completed: ctx.address().recipient(),
        };
        let queue_item = QueueItem::new(spec, self.ports.clone(), listeners);
        let id = queue_item.id().to_string();
        self.items.insert(id.clone(), queue_item.start());
        id
    }

    /// Enqueues `event` alone, blocked: it reports `refusal` as its failure and leaves.
    fn refuse(&mut self, event: TriggerEvent, refusal: Refusal, ctx: &mut Context<Self>) {
        let item = ItemRef::from_event(&event);
        let reason = match refusal {
            Refusal::Blocked(reason) => reason,
            Refusal::Cycle(changes) => format!(
                "it is part of a dependency cycle ({}) and its queue does not allow circular dependencies",
                changes.join(", ")
            ),
        };
        tracing::info!(pipeline = %self.name, change = %item.id(), %reason, "not enqueued");
        let mut queue = ChangeQueue::new(item.project.clone(), None, Default::default());
        queue.own = true;
        self.queues.push(queue);
        let q = self.queues.len() - 1;
        let spec = ItemSpec {
            tenant: self.tenant.clone(),
            pipeline: self.name.clone(),
            event: event.clone(),
            layout: self.layout.clone(),
            jobs: Ok(Vec::new()),
            fail_fast: false,
            autoholds: self.autoholds.clone(),
        };
        let id = self.admit(q, event, Some(spec), ctx);
        if let Some(entry) = self.queues[q].entry_mut(&id) {
            entry.needs.clear();
            entry.blocked = Some(format!(
                "This change cannot enter the {} pipeline: {reason}.",
                self.name
            ));
        }
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
            let mut queue = ChangeQueue::new(place.name.clone(), place.branch.clone(), window);
            queue.own = place.own;
            self.queues.push(queue);
            self.queues.len() - 1
        })
    }

    /// The live entry of `item`'s change at its patchset, as (queue, entry) indexes.
    fn live_entry(&self, item: &ItemRef) -> Option<(usize, usize)> {
        let change = item.change.as_ref()?;
        self.live_entry_of(&item.project, change.number, &change.patchset)
    }

    /// The live entry of change `number` of `project` at `patchset`, as (queue, entry) indexes.
    fn live_entry_of(&self, project: &str, number: u64, patchset: &str) -> Option<(usize, usize)> {
        let same = |e: &QueueEntry| {
            let change = e.item.change.as_ref();
            e.live
                && change.is_some_and(|c| c.number == number && c.patchset == patchset)
                && e.item.project == project
        };
        self.queues.iter().enumerate().find_map(|(q, queue)| {
            let found = queue.entries.iter().position(same);
            found.map(|e| (q, e))
        })
    }

    /// The needed changes to put ahead of `item` in its queue, dependencies
    /// first, each with its jobs (live, in a dependent pipeline) or without
    /// (carried along, in an independent one); or why it cannot enter.
    /// Also answers every change `item` needs (queued already or not).
    #[allow(clippy::type_complexity)]
    fn needed_ahead(
        &self,
        item: &ItemRef,
        place: &manager::QueuePlace,
    ) -> Result<
        (
            Vec<Arc<TriggerEvent>>,
            Vec<(TriggerEvent, Option<ItemSpec>)>,
        ),
        Refusal,
    > {
        let carried = match self.manager() {
            Manager::Dependent => false,
            Manager::Independent => true,
            Manager::Serial | Manager::Supercedent => return Ok((Vec::new(), Vec::new())),
        };
        let cycles = manager::allows_cycles(&self.layout, &self.name, item);
        let closure = dependency::closure(&self.changes, item, cycles)?;
        if carried {
            let ahead = closure
                .iter()
                .map(|event| ((**event).clone(), None))
                .collect();
            return Ok((closure, ahead));
        }
        let mut ahead = Vec::new();
        for event in closure.iter() {
            if let Some(change) = &event.change {
                let queued = self.live_entry_of(&event.project, change.number, &change.patchset);
                if let Some((q, _)) = queued {
                    if self.queues[q].name != place.name || self.queues[q].branch != place.branch {
                        let reason = format!(
                            "it needs {}~{}, which is in another queue",
                            event.project, change.number
                        );
                        return Err(Refusal::Blocked(reason));
                    }
                    continue;
                }
            }
            let needed = ItemRef::from_event(event);
            let needed_name = dependency::name(&needed);
            let pipeline = self.layout.pipeline(&self.name);
            let their_place = pipeline.map(|p| manager::place(&self.layout, p, &needed));
            let shares = |name: &str, branch: &Option<String>| {
                their_place
                    .as_ref()
                    .is_some_and(|p| p.name == name && p.branch == *branch)
                    && place.name == name
                    && place.branch == *branch
            };
            if !shares(&place.name, &place.branch) {
                let reason = format!("it needs {needed_name}, which does not share its queue");
                return Err(Refusal::Blocked(reason));
            }
            let Some(spec) = self.spec_for(event) else {
                let reason = format!("it needs {needed_name}, which has no jobs in this pipeline");
                return Err(Refusal::Blocked(reason));
            };
            ahead.push(((**event).clone(), Some(spec)));
        }
        Ok((closure, ahead))
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
        if !self.stopping {
            self.enqueue(event, ctx);
        }
    }
}

impl Handler<RestoreItems> for Pipeline {
    type Result = ();

    fn handle(&mut self, RestoreItems(events): RestoreItems, ctx: &mut Context<Self>) {
        if self.stopping {
            return;
        }
        tracing::info!(tenant = %self.tenant, pipeline = %self.name, items = events.len(), "restoring the saved queue");
        for event in events {
            self.enqueue(event, ctx);
        }
    }
}

impl Handler<StopQueues> for Pipeline {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: StopQueues, _: &mut Context<Self>) -> Self::Result {
        self.stopping = true;
        Box::pin(self.saves.flushed())
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
            Progress::FollowingReleased => entry.released = news.generation,
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
                entry.failing.push("it has a config error".into());
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
