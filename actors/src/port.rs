//! Ports: what the engine needs from the world. `src/` implements them; the
//! engine's tests plug in deterministic fakes.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use portcullis_config::{FrozenJob, Layout, TenantDef};

use crate::change::MergeState;
use crate::event::{ItemRef, TriggerEvent};
use crate::log_hub::LogHub;
use crate::result::BuildResult;

/// Everything a build needs to run one job for one item.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// Build uuid.
    pub uuid: String,
    /// Uuid of the item's buildset.
    pub buildset_uuid: String,
    /// Tenant name.
    pub tenant: String,
    /// Pipeline name.
    pub pipeline: String,
    /// The ref under test.
    pub item: ItemRef,
    /// The frozen job.
    pub job: FrozenJob,
    /// The speculative state to test: one commit per (connection, project); empty
    /// when the item is a plain ref (test `item.newrev`).
    pub state: MergeState,
    /// What the jobs it depends on returned (zuul_return `data`), merged in
    /// dependency order; `Value::Null` when none returned anything.
    pub parent_data: serde_json::Value,
    /// The jobs that depend on this one directly (`zuul.child_jobs`): the
    /// children a zuul_return `child_jobs` list may choose from.
    pub child_jobs: Vec<String>,
    /// True when an autohold request matches: if the build fails, the executor
    /// keeps its work dir (and nodes) for a human to look at.
    pub hold: bool,
}

/// How a build ended, as the executor tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildOutcome {
    /// The result.
    pub result: BuildResult,
    /// Why, when the result is an error.
    pub error_detail: Option<String>,
    /// Where the build's logs are served.
    pub log_url: Option<String>,
    /// Data the job returned for its children (zuul_return `data`); `Value::Null`: none.
    pub data: serde_json::Value,
}

impl BuildOutcome {
    /// An ERROR outcome with its reason.
    pub fn error(detail: impl Into<String>) -> Self {
        BuildOutcome {
            result: BuildResult::Error,
            error_detail: Some(detail.into()),
            log_url: None,
            data: serde_json::Value::Null,
        }
    }

    /// An outcome with only a result (no logs, no data).
    pub fn of(result: BuildResult) -> Self {
        BuildOutcome {
            result,
            error_detail: None,
            log_url: None,
            data: serde_json::Value::Null,
        }
    }
}

/// The live log of one build: lines written here reach websocket subscribers.
#[derive(Clone)]
pub struct BuildLog {
    hub: LogHub,
    uuid: String,
}

impl BuildLog {
    /// The log of build `uuid` on `hub` (the hub must have it open).
    pub fn new(hub: LogHub, uuid: impl Into<String>) -> Self {
        BuildLog {
            hub,
            uuid: uuid.into(),
        }
    }

    /// Publishes one line (without its newline).
    pub fn line(&self, text: &str) {
        self.hub.publish(&self.uuid, text);
    }
}

/// Runs builds. Dropping the returned future must stop everything the build started.
pub trait Executor: Send + Sync + 'static {
    /// Runs the job's playbooks and reports how it ended; never panics on bad input.
    fn run(&self, request: BuildRequest, log: BuildLog) -> BoxFuture<'static, BuildOutcome>;
}

/// One fact to write to the build history.
// The ref in BuildsetStarted makes it big; records are few and move once
// (boxed in the record queue), so the size gap costs nothing worth a Box here.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum StoreRecord {
    /// An item entered a pipeline and its buildset began.
    BuildsetStarted {
        /// Buildset uuid.
        uuid: String,
        /// Tenant name.
        tenant: String,
        /// Pipeline name.
        pipeline: String,
        /// The ref under test.
        item: ItemRef,
        /// The triggering event's id.
        event_id: String,
        /// When the triggering event happened.
        event_timestamp: DateTime<Utc>,
    },
    /// A build began running.
    BuildStarted {
        /// Buildset uuid.
        buildset_uuid: String,
        /// Build uuid.
        uuid: String,
        /// Job name.
        job_name: String,
        /// Whether the job votes.
        voting: bool,
        /// Nodeset name.
        nodeset: String,
        /// When it began.
        start_time: DateTime<Utc>,
    },
    /// A build ended.
    BuildFinished {
        /// Build uuid.
        uuid: String,
        /// Its result.
        result: BuildResult,
        /// When it ended.
        end_time: DateTime<Utc>,
        /// Where its logs are.
        log_url: Option<String>,
        /// Why, for errors.
        error_detail: Option<String>,
        /// True when an autohold request kept the build's nodes and work dir.
        held: bool,
    },
    /// Every build of a buildset ended and the item reported.
    BuildsetFinished {
        /// Buildset uuid.
        uuid: String,
        /// Its result.
        result: BuildResult,
        /// The report message.
        message: String,
        /// When it ended.
        end_time: DateTime<Utc>,
    },
    /// A pipeline's live items changed: what a restart restores now.
    QueueSaved(SavedQueue),
}

/// A pipeline's live items in queue order, each as the event it was enqueued
/// from: what a restart enqueues again, in this order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SavedQueue {
    /// Tenant name.
    pub tenant: String,
    /// Pipeline name.
    pub pipeline: String,
    /// The items' events, head of the first queue first.
    pub events: Vec<TriggerEvent>,
}

/// Why the store could not write.
#[derive(Debug, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(pub String);

/// Keeps the build history.
pub trait BuildStore: Send + Sync + 'static {
    /// Writes one record.
    fn record(&self, record: StoreRecord) -> BoxFuture<'static, Result<(), StoreError>>;
}

/// Why a tenant's layout could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The config has errors in a config project (listed).
    #[error("config errors: {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Config(Vec<portcullis_config::ConfigError>),
    /// A repo could not be read.
    #[error("{0}")]
    Repo(String),
}

/// Loads a tenant's layout from its projects' repos.
pub trait LayoutLoader: Send + Sync + 'static {
    /// Reads the config files of every project of the tenant and assembles the layout.
    fn load(&self, tenant: TenantDef) -> BoxFuture<'static, Result<Layout, LoadError>>;

    /// The layout of `tenant` (as last loaded) with its untrusted projects'
    /// config files as they are in `state`: `None` when the state changes no
    /// config file, an error when its changes bring config errors (those of a
    /// config project's changes too, though those take effect only once merged).
    /// Without an override, states never change the layout.
    fn speculative(
        &self,
        tenant: &str,
        state: &MergeState,
    ) -> BoxFuture<'static, Result<Option<Arc<Layout>>, LoadError>> {
        let _ = (tenant, state);
        Box::pin(async { Ok(None) })
    }
}

/// The engine's ports, handed down from the scheduler to every actor.
#[derive(Clone)]
pub struct Ports {
    /// Runs builds.
    pub executor: Arc<dyn Executor>,
    /// Keeps the history.
    pub store: Arc<dyn BuildStore>,
    /// Loads layouts.
    pub loader: Arc<dyn LayoutLoader>,
    /// Makes speculative states.
    pub merger: Arc<dyn crate::change::SpeculativeMerger>,
    /// Delivers reports (votes, merges).
    pub reporter: Arc<dyn crate::change::Reporter>,
    /// Live logs.
    pub log_hub: LogHub,
    /// Where the web UI is served, ending in `/`: reports link each buildset's page under it.
    pub web_root: String,
}
