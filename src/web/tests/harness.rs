//! A small world for the web tests: one tenant, a store with history, a logs folder.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix::Actor;
use chrono::{DateTime, TimeZone, Utc};
use futures_util::future::BoxFuture;
use portcullis_actors::port::{LoadError, Ports, StoreRecord};
use portcullis_actors::scheduler::Scheduler;
use portcullis_actors::{
    BuildLog, BuildOutcome, BuildRequest, BuildResult, EngineHandle, Executor, ItemRef,
    LayoutLoader, LogHub,
};
use portcullis_config::tenant::SourceDef;
use portcullis_config::{Layout, TenantConfig, TenantDef};

use crate::store::Store;
use crate::web::WebState;

/// The tenant every test world has.
pub const TENANT: &str = "example";
/// How long any one step of a test may take before it fails.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Fails the test when `step` does not finish in time, instead of hanging.
pub async fn within<T>(what: &str, step: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP_TIMEOUT, step)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// A running engine, a store and a logs folder, alive as long as this is.
pub struct World {
    /// What the web layer is given.
    pub state: WebState,
    /// The SQLite file of the store.
    pub db_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl World {
    /// A world with tenant [`TENANT`] (two projects, no pipelines) and no history.
    pub async fn new() -> World {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let db_path = dir.path().join("history.db");
        let store = Store::open(&format!("sqlite://{}", db_path.display()))
            .await
            .expect("a store");
        let log_hub = LogHub::new();
        let ports = Ports {
            executor: Arc::new(NoExecutor),
            store: Arc::new(store.clone()),
            loader: Arc::new(EmptyLayout),
            merger: Arc::new(crate::merger::Merger::new(
                dir.path().join("git"),
                Default::default(),
            )),
            reporter: Arc::new(crate::drivers::report::ConnectionReporter),
            log_hub: log_hub.clone(),
            web_root: "http://portcullis.test/".to_string(),
        };
        let scheduler = Scheduler::new(tenant_config(), ports).start();
        let logs_dir = dir.path().join("logs");
        std::fs::create_dir_all(&logs_dir).expect("a logs folder");
        let state = WebState {
            engine: EngineHandle::new(scheduler, log_hub),
            store,
            logs_dir,
            web_root: "http://portcullis.test/".to_string(),
            keys: crate::keys::KeyStore::with_bits(dir.path().join("keys"), 1024),
        };
        World {
            state,
            db_path,
            _dir: dir,
        }
    }

    /// Writes `text` to `{logs_dir}/{uuid}/{path}`, making folders on the way.
    pub fn write_log(&self, uuid: &str, path: &str, text: &str) -> PathBuf {
        let file = self.state.logs_dir.join(uuid).join(path);
        let parent = file.parent().expect("a log file has a folder");
        std::fs::create_dir_all(parent).expect("log folders");
        std::fs::write(&file, text).expect("a log file");
        file
    }

    /// Records build `uuid` as started, alone in a buildset `bs-{uuid}` of the
    /// tenant: what its logs and console stream need to be the tenant's.
    pub async fn record_build(&self, uuid: &str) {
        self.record_build_in(TENANT, uuid).await;
    }

    /// [`record_build`](Self::record_build) in `tenant`'s history.
    pub async fn record_build_in(&self, tenant: &str, uuid: &str) {
        let buildset = format!("bs-{uuid}");
        let records = [
            StoreRecord::BuildsetStarted {
                uuid: buildset.clone(),
                tenant: tenant.into(),
                pipeline: "check".into(),
                item: main_branch(),
                event_id: format!("ev-{uuid}"),
                event_timestamp: at(0.0),
            },
            StoreRecord::BuildStarted {
                buildset_uuid: buildset,
                uuid: uuid.into(),
                job_name: "unit".into(),
                voting: true,
                nodeset: "small".into(),
                start_time: at(1.0),
            },
        ];
        for record in records {
            self.state.store.record(record).await.expect("a record");
        }
    }

    /// Records one finished buildset `bs1` in pipeline `check` of
    /// `org/project` on `main` with builds `bs1-lint` (SUCCESS, 90.5 s) and
    /// `bs1-unit` (FAILURE).
    pub async fn seed_history(&self) {
        let store = &self.state.store;
        for record in history() {
            store.record(record).await.expect("a history record");
        }
    }
}

/// A fixed instant in 2024, `seconds` after noon UTC on May 1st.
pub fn at(seconds: f64) -> DateTime<Utc> {
    let noon = Utc
        .with_ymd_and_hms(2024, 5, 1, 12, 0, 0)
        .single()
        .expect("a valid date");
    noon + chrono::Duration::microseconds((seconds * 1_000_000.0) as i64)
}

/// A push to `main` of `org/project`.
fn main_branch() -> ItemRef {
    ItemRef {
        connection: "git".into(),
        project: "org/project".into(),
        ref_name: "refs/heads/main".into(),
        branch: Some("main".into()),
        tag: None,
        oldrev: "aaaa".into(),
        newrev: "bbbb".into(),
        change: None,
    }
}

fn history() -> Vec<StoreRecord> {
    let item = main_branch();
    let started = |job: &str, t: f64| StoreRecord::BuildStarted {
        buildset_uuid: "bs1".into(),
        uuid: format!("bs1-{job}"),
        job_name: job.into(),
        voting: job == "lint",
        nodeset: "small".into(),
        start_time: at(t),
    };
    let finished = |job: &str, result, t: f64| StoreRecord::BuildFinished {
        uuid: format!("bs1-{job}"),
        result,
        end_time: at(t),
        log_url: Some(format!("http://portcullis.test/logs/bs1-{job}/")),
        error_detail: None,
        held: false,
    };
    vec![
        StoreRecord::BuildsetStarted {
            uuid: "bs1".into(),
            tenant: TENANT.into(),
            pipeline: "check".into(),
            item,
            event_id: "ev1".into(),
            event_timestamp: at(0.0),
        },
        started("lint", 1.0),
        started("unit", 2.0),
        finished("lint", BuildResult::Success, 91.5),
        finished("unit", BuildResult::Failure, 100.0),
        StoreRecord::BuildsetFinished {
            uuid: "bs1".into(),
            result: BuildResult::Failure,
            message: "Build failed.".into(),
            end_time: at(101.0),
        },
    ]
}

fn tenant_config() -> TenantConfig {
    let source = SourceDef {
        config_projects: vec!["org/config".into()],
        untrusted_projects: vec!["org/project".into()],
        ..Default::default()
    };
    TenantConfig {
        tenants: vec![TenantDef {
            name: TENANT.into(),
            sources: BTreeMap::from([("git".to_string(), source)]),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The tenant's layout has no pipelines, so nothing ever runs.
struct EmptyLayout;

impl LayoutLoader for EmptyLayout {
    fn load(&self, tenant: TenantDef) -> BoxFuture<'static, Result<Layout, LoadError>> {
        Box::pin(async move {
            Ok(Layout {
                tenant: tenant.name,
                ..Layout::default()
            })
        })
    }
}

struct NoExecutor;

impl Executor for NoExecutor {
    fn run(&self, _: BuildRequest, _: BuildLog) -> BoxFuture<'static, BuildOutcome> {
        Box::pin(async { BuildOutcome::error("the web tests run no builds") })
    }
}
