//! The QueueItem actor: one enqueued ref or change, its speculative state,
//! its job graph and its builds.
//!
//! The pipeline decides (it knows the queue); the item carries out: it asks
//! the merger for its speculative state, starts each job once the jobs it
//! depends on succeeded, skips the children of failed jobs, and tells the
//! pipeline how it goes ([`ItemProgressed`]). A reset ([`StartBuildset`] with
//! a new generation) cancels its builds and starts over on a new state; news
//! of an older generation is dropped on both sides.
//!
//! | module | what it holds |
//! |---|---|
//! | `job_graph` | the jobs, their dependencies, skips and returned data |
//! | `freeze` | the job graph frozen once the merger named the changed files |
//! | `run` | the merge, the builds, fail-fast, the end |
//! | `status` | the item's part of the status |

mod freeze;
mod job_graph;
mod run;
mod status;

use std::collections::HashSet;
use std::sync::Arc;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use portcullis_config::{FrozenJob, Layout};

use crate::autohold::Autoholds;
use crate::change::{MergeRequest, MergeState};
use crate::event::{ItemRef, TriggerEvent};
use crate::port::{Ports, StoreRecord};
use crate::record_queue::RecordQueue;
use crate::result::BuildResult;
use crate::status::ItemStatus;

pub use job_graph::merge_json;
use job_graph::JobGraph;

/// An item finished: it reported, every build ended and its buildset is
/// stored. Sent by [`QueueItem`] to its pipeline, once, right before it stops.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct ItemCompleted {
    /// Item id.
    pub id: String,
    /// The buildset's result.
    pub result: BuildResult,
}

/// How an item's current buildset goes; see [`ItemProgressed`].
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// The speculative state could not be made; no jobs run.
    MergeFailed {
        /// True for a conflict (MERGE_CONFLICT), false for a merger error (ERROR).
        conflict: bool,
        /// What the merger said.
        detail: String,
    },
    /// A voting job ended without success (sent once per generation, before the rest end).
    JobFailed {
        /// The job.
        job: String,
    },
    /// Every job that holds following changes (`hold-following-changes`) succeeded.
    FollowingReleased,
    /// The item's config (its changes' config files, or its job graph) has errors; no jobs run.
    ConfigError {
        /// The errors, as reported.
        message: String,
    },
    /// Every job has a result.
    JobsCompleted {
        /// The buildset's result.
        result: BuildResult,
    },
    /// The jobs' file matchers left none to run (NO_JOBS).
    NoJobs,
}

/// News of an item's buildset. Sent by [`QueueItem`] to its pipeline as it happens.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct ItemProgressed {
    /// Item id.
    pub id: String,
    /// The buildset generation the news is about.
    pub generation: u32,
    /// What happened.
    pub progress: Progress,
}

/// Starts (or restarts) the item's buildset: cancels running builds, makes the
/// speculative state (when `merge` is given) and runs the jobs. Sent by the
/// pipeline when the item enters the active window or the items ahead changed.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct StartBuildset {
    /// A number higher than any before for this item.
    pub generation: u32,
    /// The state to ask the merger for; `None`: test the item's own revision.
    pub merge: Option<MergeRequest>,
}

/// Cancels the item's builds without starting new ones (a change it needs
/// failed). Sent by the pipeline.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct CancelJobs {
    /// The new generation (news of the old one is dropped).
    pub generation: u32,
}

/// Ends the item: cancels what still runs, stores the buildset's result and
/// stops (after telling [`ItemCompleted`]). Sent by the pipeline when the item
/// reported or was dequeued.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct FinishItem {
    /// The buildset's final result.
    pub result: BuildResult,
    /// The report text.
    pub message: String,
}

/// Asks an item for its status snapshot (jobs; the pipeline fills in the queue facts).
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
    /// The layout it was enqueued with; its jobs are frozen again from it once
    /// the changed files are known.
    pub layout: Arc<Layout>,
    /// Its jobs frozen without knowing the changed files (every job the
    /// project lists), or why they cannot be frozen.
    pub jobs: Result<Vec<FrozenJob>, String>,
    /// Whether the first failing voting job cancels the rest and fails the item.
    pub fail_fast: bool,
    /// The engine's autohold requests.
    pub autoholds: Autoholds,
}

/// Who hears from an item: its pipeline, as recipients.
#[derive(Clone)]
pub struct ItemListeners {
    /// Progress of the buildset.
    pub progress: Recipient<ItemProgressed>,
    /// The end of the item.
    pub completed: Recipient<ItemCompleted>,
}

/// One enqueued ref or change and its builds.
pub struct QueueItem {
    id: String,
    buildset_uuid: String,
    spec: ItemSpec,
    item: ItemRef,
    enqueue_time: DateTime<Utc>,
    graph: JobGraph,
    ports: Ports,
    pipeline: ItemListeners,
    records: RecordQueue,
    /// The current buildset generation; 0 before the first start.
    generation: u32,
    /// The speculative state of the current generation, once made.
    state: Option<MergeState>,
    /// True once the graph was frozen with the changed files (once per item, as in Zuul).
    frozen: bool,
    /// Whether the current generation was told JobFailed already.
    told_failed: bool,
    /// Builds of earlier generations (or of a finishing item) still stopping, by uuid.
    retired: HashSet<String>,
    /// Running builds, by uuid.
    running: std::collections::HashMap<String, Addr<crate::build::Build>>,
    /// Set once the pipeline asked the item to end.
    finishing: Option<(BuildResult, String)>,
    completed: bool,
}

impl QueueItem {
    /// An item for `spec` reporting to `pipeline`; must be started inside a runtime.
    pub fn new(spec: ItemSpec, ports: Ports, pipeline: ItemListeners) -> Self {
        let new_uuid = || uuid::Uuid::new_v4().simple().to_string();
        QueueItem {
            id: new_uuid(),
            buildset_uuid: new_uuid(),
            item: ItemRef::from_event(&spec.event),
            graph: JobGraph::new(spec.jobs.as_deref().unwrap_or_default()),
            spec,
            enqueue_time: Utc::now(),
            records: RecordQueue::start(ports.store.clone()),
            ports,
            pipeline,
            generation: 0,
            state: None,
            frozen: false,
            told_failed: false,
            retired: HashSet::new(),
            running: std::collections::HashMap::new(),
            finishing: None,
            completed: false,
        }
    }

    /// The item's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// (connection, project, branch) of every project the jobs require besides
    /// the item's own: at the job's override-checkout, else the item's branch
    /// (the merger falls back to a project's default branch).
    fn required_projects(&self) -> Vec<(String, String, String)> {
        let item_branch = self.item.branch.clone().unwrap_or_default();
        let mut required: Vec<(String, String, String)> = Vec::new();
        for job in self.graph.slots.iter().map(|s| &s.job) {
            for project in &job.required_projects {
                let branch = project.override_checkout.as_ref();
                let branch = branch.or(job.override_checkout.as_ref());
                let key = (
                    self.item.connection.clone(),
                    project.name.clone(),
                    branch.unwrap_or(&item_branch).clone(),
                );
                if project.name != self.item.project && !required.contains(&key) {
                    required.push(key);
                }
            }
        }
        required
    }

    fn tell(&self, progress: Progress) {
        self.pipeline.progress.do_send(ItemProgressed {
            id: self.id.clone(),
            generation: self.generation,
            progress,
        });
    }
}

impl Actor for QueueItem {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
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
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        // An item stopped early (its pipeline went away) cancels its builds.
        for (_, build) in self.running.drain() {
            build.do_send(crate::build::CancelBuild);
        }
        if let Some(state) = self.state.take() {
            self.ports.merger.release(&self.id, &state);
        }
    }
}

impl Handler<StartBuildset> for QueueItem {
    type Result = ();

    fn handle(&mut self, start: StartBuildset, ctx: &mut Context<Self>) {
        if self.finishing.is_some() || start.generation <= self.generation {
            return;
        }
        self.restart(start.generation);
        if let (Err(message), true) = (&self.spec.jobs, self.frozen) {
            let message = message.clone();
            return self.tell(Progress::ConfigError { message });
        }
        if self.frozen && self.graph.slots.is_empty() {
            return self.tell(Progress::NoJobs);
        }
        match start.merge {
            Some(mut request) => {
                request.required = self.required_projects();
                self.merge(request, ctx)
            }
            None if self.needs_files() => self.ask_ref_files(ctx),
            None => {
                self.state = Some(MergeState::default());
                self.advance(ctx);
            }
        }
    }
}

impl Handler<CancelJobs> for QueueItem {
    type Result = ();

    fn handle(&mut self, cancel: CancelJobs, _: &mut Context<Self>) {
        if self.finishing.is_none() && cancel.generation > self.generation {
            self.restart(cancel.generation);
        }
    }
}

impl Handler<FinishItem> for QueueItem {
    type Result = ();

    fn handle(&mut self, finish: FinishItem, ctx: &mut Context<Self>) {
        if self.finishing.is_some() {
            return;
        }
        self.finishing = Some((finish.result, finish.message));
        self.retire_running();
        self.finish_when_quiet(ctx);
    }
}

impl Handler<GetItemStatus> for QueueItem {
    type Result = MessageResult<GetItemStatus>;

    fn handle(&mut self, _: GetItemStatus, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.status())
    }
}
