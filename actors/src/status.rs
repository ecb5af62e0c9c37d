//! Snapshots of the engine's state, shaped as Zuul's status JSON
//! (`/api/tenant/{t}/status`), so Zuul's clients can read them.

use serde::Serialize;

/// A tenant's status: its pipelines and their queues.
#[derive(Debug, Clone, Serialize, Default)]
pub struct TenantStatus {
    /// Server version.
    pub zuul_version: String,
    /// Milliseconds since the epoch when the layout was last loaded.
    pub last_reconfigured: Option<i64>,
    /// Events waiting for the tenant.
    pub trigger_event_queue: QueueLength,
    /// Management events waiting.
    pub management_event_queue: QueueLength,
    /// Result events waiting.
    pub result_event_queue: QueueLength,
    /// Pipelines in layout order.
    pub pipelines: Vec<PipelineStatus>,
}

/// The length of an event queue.
#[derive(Debug, Clone, Copy, Serialize, Default)]
pub struct QueueLength {
    /// Events in it.
    pub length: usize,
}

/// One pipeline's queues.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineStatus {
    /// Pipeline name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Manager name (`independent`, ...).
    pub manager: String,
    /// Events waiting for the pipeline.
    pub trigger_events: usize,
    /// Change queues with their items.
    pub change_queues: Vec<ChangeQueueStatus>,
}

/// A change queue: its heads are the chains of items in it.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeQueueStatus {
    /// Queue name (the project, for independent pipelines).
    pub name: String,
    /// Active window (0: unlimited).
    pub window: usize,
    /// Each head is a chain of items, first one at the head.
    pub heads: Vec<Vec<ItemStatus>>,
}

/// One item and its jobs.
#[derive(Debug, Clone, Serialize)]
pub struct ItemStatus {
    /// Item uuid.
    pub id: String,
    /// The refs the item tests.
    pub refs: Vec<RefStatus>,
    /// Whether the item is in the active window.
    pub active: bool,
    /// Whether the item is live (reported) rather than only a base for others.
    pub live: bool,
    /// Uuid of the item ahead.
    pub item_ahead: Option<String>,
    /// Uuids of the items behind.
    pub items_behind: Vec<String>,
    /// Why the item is failing, if it is.
    pub failing_reasons: Vec<String>,
    /// The speculative ref under test.
    pub zuul_ref: String,
    /// Milliseconds since the epoch when enqueued.
    pub enqueue_time: i64,
    /// Milliseconds until all jobs are done, when known.
    pub remaining_time: Option<i64>,
    /// Jobs in graph order.
    pub jobs: Vec<JobStatus>,
}

/// One ref of an item.
#[derive(Debug, Clone, Serialize)]
pub struct RefStatus {
    /// Change id or ref.
    pub id: String,
    /// Project name.
    pub project: String,
    /// Canonical project name.
    pub project_canonical: String,
    /// Full ref name.
    #[serde(rename = "ref")]
    pub ref_name: String,
    /// Web link, if any.
    pub url: Option<String>,
    /// Owner, if any.
    pub owner: Option<String>,
}

/// One job of an item and its build, if started.
#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    /// Job name.
    pub name: String,
    /// Names of the jobs it depends on.
    pub dependencies: Vec<String>,
    /// Build uuid once it has one.
    pub uuid: Option<String>,
    /// Result once finished.
    pub result: Option<String>,
    /// Whether the result counts.
    pub voting: bool,
    /// Milliseconds the build has run.
    pub elapsed_time: Option<i64>,
    /// Milliseconds left, when estimated.
    pub remaining_time: Option<i64>,
    /// Relative URL of the live log page.
    pub url: Option<String>,
    /// URL of the finished build's page.
    pub report_url: Option<String>,
    /// Seconds since the epoch when it started.
    pub start_time: Option<f64>,
    /// Seconds since the epoch when it ended.
    pub end_time: Option<f64>,
    /// Estimated run time in seconds.
    pub estimated_time: Option<f64>,
    /// Pipeline name.
    pub pipeline: Option<String>,
    /// Whether the build was canceled.
    pub canceled: Option<bool>,
    /// Whether the job is waiting in the queue.
    pub queued: bool,
    /// Why it is waiting, when it is.
    pub waiting_status: Option<String>,
    /// Attempts so far.
    pub tries: u32,
}

/// A tenant as listed by `/api/tenants`.
#[derive(Debug, Clone, Serialize)]
pub struct TenantSummary {
    /// Tenant name.
    pub name: String,
    /// Projects in the tenant.
    pub projects: usize,
    /// Items in its queues.
    pub queue: usize,
}

impl RefStatus {
    /// The status of the ref or change `item` tests.
    pub fn of(item: &crate::event::ItemRef) -> RefStatus {
        RefStatus {
            id: item.id(),
            project: item.project.clone(),
            project_canonical: item.project.clone(),
            ref_name: item.ref_name.clone(),
            url: item.change.as_ref().and_then(|c| c.url.clone()),
            owner: None,
        }
    }
}

impl ItemStatus {
    /// A needed change carried along (not live): no jobs, nothing to report.
    pub fn non_live(id: &str, item: &crate::event::ItemRef) -> ItemStatus {
        ItemStatus {
            id: id.to_string(),
            refs: vec![RefStatus::of(item)],
            active: false,
            live: false,
            item_ahead: None,
            items_behind: Vec::new(),
            failing_reasons: Vec::new(),
            zuul_ref: String::new(),
            enqueue_time: 0,
            remaining_time: None,
            jobs: Vec::new(),
        }
    }
}
