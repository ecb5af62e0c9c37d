//! Deterministic in-memory fakes of the engine's ports.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use portcullis_config::{ConfigFile, Layout, TenantConfig, TenantDef};
use tokio::sync::watch;

use crate::change::{
    MergeError, MergeRequest, MergeState, Report, ReportError, Reporter, SpeculativeMerger,
};
use crate::port::{
    BuildLog, BuildOutcome, BuildRequest, BuildStore, Executor, LayoutLoader, LoadError, Ports,
    StoreError, StoreRecord,
};
use crate::result::BuildResult;
use crate::scheduler::Scheduler;
use crate::{EngineHandle, LogHub};

/// What the fake executor does for a job.
#[derive(Clone, Copy)]
pub enum Behaviour {
    /// Ends with this result.
    End(BuildResult),
    /// Panics inside the run.
    Panic,
}

/// An executor whose builds end as told, and can be held until released.
#[derive(Clone, Default)]
pub struct FakeExecutor {
    behaviour: Arc<Mutex<HashMap<String, Behaviour>>>,
    held: Arc<Mutex<HashMap<String, watch::Sender<bool>>>>,
}

impl FakeExecutor {
    /// Builds of `job` end like this (default: SUCCESS).
    pub fn set(&self, job: &str, behaviour: Behaviour) {
        self.behaviour.lock().unwrap().insert(job.into(), behaviour);
    }

    /// Builds of `job` wait until [`FakeExecutor::release`].
    pub fn hold(&self, job: &str) {
        self.held
            .lock()
            .unwrap()
            .insert(job.into(), watch::channel(true).0);
    }

    /// Lets held builds of `job` go on.
    pub fn release(&self, job: &str) {
        if let Some(gate) = self.held.lock().unwrap().get(job) {
            gate.send_replace(false);
        }
    }
}

impl Executor for FakeExecutor {
    fn run(&self, request: BuildRequest, log: BuildLog) -> BoxFuture<'static, BuildOutcome> {
        let job = request.job.name.clone();
        let behaviour = self.behaviour.lock().unwrap().get(&job).copied();
        let gate = self.held.lock().unwrap().get(&job).map(|g| g.subscribe());
        async move {
            log.line(&format!("running {job}"));
            if let Some(mut gate) = gate {
                let _ = gate.wait_for(|held| !held).await;
            }
            match behaviour.unwrap_or(Behaviour::End(BuildResult::Success)) {
                Behaviour::End(result) => BuildOutcome {
                    result,
                    error_detail: None,
                    log_url: Some(format!("logs/{}/", request.uuid)),
                },
                Behaviour::Panic => panic!("the fake executor was told to panic"),
            }
        }
        .boxed()
    }
}

/// A store that keeps records in memory and lets tests await them.
#[derive(Clone)]
pub struct MemoryStore {
    records: Arc<watch::Sender<Vec<StoreRecord>>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            records: Arc::new(watch::channel(Vec::new()).0),
        }
    }
}

impl MemoryStore {
    /// Waits (up to 10 s) until `done` holds for the records, then returns them.
    pub async fn until(&self, done: impl Fn(&[StoreRecord]) -> bool) -> Vec<StoreRecord> {
        let mut rx = self.records.subscribe();
        let wait = async { rx.wait_for(|r| done(r)).await.map(|r| r.clone()) };
        let outcome = tokio::time::timeout(Duration::from_secs(10), wait).await;
        match outcome {
            Ok(Ok(records)) => records,
            _ => panic!("timed out; records: {:#?}", self.records.borrow()),
        }
    }

    /// The results of finished buildsets, in order.
    pub fn buildset_results(records: &[StoreRecord]) -> Vec<BuildResult> {
        records
            .iter()
            .filter_map(|r| match r {
                StoreRecord::BuildsetFinished { result, .. } => Some(*result),
                _ => None,
            })
            .collect()
    }
}

impl BuildStore for MemoryStore {
    fn record(&self, record: StoreRecord) -> BoxFuture<'static, Result<(), StoreError>> {
        self.records.send_modify(|r| r.push(record));
        async { Ok(()) }.boxed()
    }
}

/// A loader that builds layouts from config files held in memory.
#[derive(Clone, Default)]
pub struct MemoryLoader {
    files: Arc<Mutex<Vec<ConfigFile>>>,
}

impl MemoryLoader {
    /// Sets the text of a project's config file.
    pub fn set_file(&self, project: &str, trusted: bool, text: &str) {
        let mut files = self.files.lock().unwrap();
        files.retain(|f| f.project != project);
        files.push(ConfigFile {
            connection: "local".into(),
            project: project.into(),
            branch: "master".into(),
            commit: "c0ffee".into(),
            path: "zuul.yaml".into(),
            trusted,
            text: text.into(),
        });
        files.sort_by_key(|f| !f.trusted);
    }
}

impl LayoutLoader for MemoryLoader {
    fn load(&self, tenant: TenantDef) -> BoxFuture<'static, Result<Layout, LoadError>> {
        let files = self.files.lock().unwrap().clone();
        async move {
            let drivers = [("local".to_string(), "git".to_string())].into();
            let layout = Layout::build(&tenant, &drivers, &files);
            let trusted: Vec<_> = layout
                .errors
                .iter()
                .filter(|e| {
                    files
                        .iter()
                        .any(|f| f.trusted && Some(&f.project) == e.project.as_ref())
                })
                .cloned()
                .collect();
            if trusted.is_empty() {
                Ok(layout)
            } else {
                Err(LoadError::Config(trusted))
            }
        }
        .boxed()
    }
}

/// A merger whose state is each item's own revision.
pub struct FakeMerger;

impl SpeculativeMerger for FakeMerger {
    fn merge(&self, request: MergeRequest) -> BoxFuture<'static, Result<MergeState, MergeError>> {
        let mut state = MergeState::default();
        for merge in &request.items {
            let key = (merge.item.connection.clone(), merge.item.project.clone());
            state.commits.insert(key, merge.item.newrev.clone());
        }
        async move { Ok(state) }.boxed()
    }
}

/// A reporter that accepts every report.
pub struct FakeReporter;

impl Reporter for FakeReporter {
    fn report(&self, _: Report) -> BoxFuture<'static, Result<(), ReportError>> {
        async { Ok(()) }.boxed()
    }
}

/// A running engine with fakes, and the fakes to steer it.
pub struct Harness {
    pub engine: EngineHandle,
    pub executor: FakeExecutor,
    pub store: MemoryStore,
    pub loader: MemoryLoader,
}

pub const TENANT: &str = "- tenant:\n    name: example\n    source:\n      local:\n        config-projects: [config]\n        untrusted-projects: [demo, other]\n";

pub const CONFIG: &str = r#"
- pipeline:
    name: post
    manager: independent
    trigger:
      local:
        - event: ref-updated
          ref: ^refs/heads/.*$
- job:
    name: base
    parent: null
    run: playbooks/base.yaml
"#;

impl Harness {
    /// Starts an engine over the example tenant, with `demo` running `jobs` in `post`.
    pub fn start(jobs: &[&str]) -> Harness {
        let loader = MemoryLoader::default();
        loader.set_file("config", true, CONFIG);
        loader.set_file("demo", false, &demo_config(jobs));
        let executor = FakeExecutor::default();
        let store = MemoryStore::default();
        let log_hub = LogHub::new();
        let ports = Ports {
            executor: Arc::new(executor.clone()),
            store: Arc::new(store.clone()),
            loader: Arc::new(loader.clone()),
            merger: Arc::new(FakeMerger),
            reporter: Arc::new(FakeReporter),
            log_hub: log_hub.clone(),
        };
        let tenants = TenantConfig::parse("main.yaml", TENANT).unwrap();
        let scheduler = actix::Actor::start(Scheduler::new(tenants, ports));
        Harness {
            engine: EngineHandle::new(scheduler, log_hub),
            executor,
            store,
            loader,
        }
    }

    /// Pushes a commit to a branch of a project.
    pub fn push(&self, project: &str, branch: &str) {
        let event = crate::TriggerEvent::ref_updated(
            "local",
            project,
            &format!("refs/heads/{branch}"),
            &"1".repeat(40),
            &"2".repeat(40),
        );
        self.engine.submit(event);
    }
}

/// The demo project's config: jobs (each a child of base) run in `post`.
pub fn demo_config(jobs: &[&str]) -> String {
    let mut text = String::new();
    for job in jobs {
        text.push_str(&format!("- job:\n    name: {job}\n"));
    }
    text.push_str("- project:\n    post:\n      jobs:\n");
    for job in jobs {
        text.push_str(&format!("        - {job}\n"));
    }
    text
}
