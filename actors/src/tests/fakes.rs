//! Deterministic in-memory fakes of the engine's ports.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use portcullis_config::layout::Speculation;
use portcullis_config::{ConfigFile, Layout, TenantDef};
use tokio::sync::watch;

use crate::change::MergeState;
use crate::port::{
    BuildLog, BuildOutcome, BuildRequest, BuildStore, Executor, LayoutLoader, LoadError,
    StoreError, StoreRecord,
};
use crate::result::BuildResult;

/// What the fake executor does for a job.
#[derive(Clone)]
pub enum Behaviour {
    /// Ends with this result.
    End(BuildResult),
    /// Ends with this result and returns this data (zuul_return).
    Return(BuildResult, serde_json::Value),
    /// Panics inside the run.
    Panic,
}

/// An executor whose builds end as told (per job, or per job and change),
/// can be held until released, and remembers every request.
#[derive(Clone, Default)]
pub struct FakeExecutor {
    behaviour: Arc<Mutex<HashMap<String, Behaviour>>>,
    held: Arc<Mutex<HashMap<String, watch::Sender<bool>>>>,
    requests: Arc<Mutex<Vec<BuildRequest>>>,
}

/// The key of a job's builds for one change.
fn for_change(job: &str, change: u64) -> String {
    format!("{job}@{change}")
}

impl FakeExecutor {
    /// Builds of `job` end like this (default: SUCCESS).
    pub fn set(&self, job: &str, behaviour: Behaviour) {
        self.behaviour.lock().unwrap().insert(job.into(), behaviour);
    }

    /// Builds of `job` for change `change` end like this (over [`FakeExecutor::set`]).
    pub fn set_for(&self, job: &str, change: u64, behaviour: Behaviour) {
        let key = for_change(job, change);
        self.behaviour.lock().unwrap().insert(key, behaviour);
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

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<BuildRequest> {
        self.requests.lock().unwrap().clone()
    }

    /// The change numbers whose builds of `job` were requested, in order.
    pub fn changes_run(&self, job: &str) -> Vec<u64> {
        let requests = self.requests();
        let of_job = requests.iter().filter(|r| r.job.name == job);
        of_job
            .filter_map(|r| r.item.change.as_ref().map(|c| c.number))
            .collect()
    }
}

impl Executor for FakeExecutor {
    fn run(&self, request: BuildRequest, log: BuildLog) -> BoxFuture<'static, BuildOutcome> {
        let job = request.job.name.clone();
        let change = request.item.change.as_ref().map(|c| c.number);
        let behaviour = {
            let table = self.behaviour.lock().unwrap();
            let specific = change.and_then(|n| table.get(&for_change(&job, n)));
            specific.or_else(|| table.get(&job)).cloned()
        };
        let gate = self.held.lock().unwrap().get(&job).map(|g| g.subscribe());
        self.requests.lock().unwrap().push(request.clone());
        async move {
            log.line(&format!("running {job}"));
            if let Some(mut gate) = gate {
                let _ = gate.wait_for(|held| !held).await;
            }
            let (result, data) = match behaviour.unwrap_or(Behaviour::End(BuildResult::Success)) {
                Behaviour::End(result) => (result, serde_json::Value::Null),
                Behaviour::Return(result, data) => (result, data),
                Behaviour::Panic => panic!("the fake executor was told to panic"),
            };
            BuildOutcome {
                result,
                error_detail: None,
                log_url: Some(format!("logs/{}/", request.uuid)),
                data,
            }
        }
        .boxed()
    }
}

/// A store that keeps records in memory and lets tests await them.
#[derive(Clone)]
pub struct MemoryStore {
    records: Arc<watch::Sender<Vec<StoreRecord>>>,
    /// Every queue save, in order (kept apart from the history records).
    saves: Arc<watch::Sender<Vec<crate::port::SavedQueue>>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            records: Arc::new(watch::channel(Vec::new()).0),
            saves: Arc::new(watch::channel(Vec::new()).0),
        }
    }
}

impl MemoryStore {
    /// Waits (up to 10 s) until the last save of `pipeline` holds `n` items, and returns it.
    pub async fn until_saved(&self, pipeline: &str, n: usize) -> crate::port::SavedQueue {
        let last = |saves: &[crate::port::SavedQueue]| {
            saves.iter().rev().find(|q| q.pipeline == pipeline).cloned()
        };
        let mut rx = self.saves.subscribe();
        let wait = async {
            let saves = rx.wait_for(|s| last(s).is_some_and(|q| q.events.len() == n));
            saves.await.map(|s| last(&s).unwrap_or_default())
        };
        match tokio::time::timeout(Duration::from_secs(10), wait).await {
            Ok(Ok(saved)) => saved,
            _ => panic!("timed out; saves: {:#?}", self.saves.borrow()),
        }
    }

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

    /// (job name, result) of every finished build, in the order they finished.
    pub fn build_results(records: &[StoreRecord]) -> Vec<(String, BuildResult)> {
        let mut jobs = HashMap::new();
        let mut out = Vec::new();
        for record in records {
            match record {
                StoreRecord::BuildStarted { uuid, job_name, .. } => {
                    jobs.insert(uuid.clone(), job_name.clone());
                }
                StoreRecord::BuildFinished { uuid, result, .. } => {
                    let job = jobs.get(uuid).cloned().unwrap_or_default();
                    out.push((job, *result));
                }
                _ => {}
            }
        }
        out
    }

    /// (change number, result) of finished buildsets of changes, in the order they finished.
    pub fn results_by_change(records: &[StoreRecord]) -> Vec<(u64, BuildResult)> {
        let mut changes = HashMap::new();
        let mut out = Vec::new();
        for record in records {
            match record {
                StoreRecord::BuildsetStarted { uuid, item, .. } => {
                    if let Some(change) = &item.change {
                        changes.insert(uuid.clone(), change.number);
                    }
                }
                StoreRecord::BuildsetFinished { uuid, result, .. } => {
                    if let Some(number) = changes.get(uuid) {
                        out.push((*number, *result));
                    }
                }
                _ => {}
            }
        }
        out
    }
}

impl BuildStore for MemoryStore {
    fn record(&self, record: StoreRecord) -> BoxFuture<'static, Result<(), StoreError>> {
        match record {
            StoreRecord::QueueSaved(queue) => self.saves.send_modify(|s| s.push(queue)),
            record => self.records.send_modify(|r| r.push(record)),
        }
        async { Ok(()) }.boxed()
    }
}

/// A loader that builds layouts from config files held in memory.
#[derive(Clone, Default)]
pub struct MemoryLoader {
    files: Arc<Mutex<Vec<ConfigFile>>>,
    /// Config texts proposed by changes, by the patchset that holds them.
    proposed: Arc<Mutex<HashMap<String, (String, String)>>>,
    loads: Arc<std::sync::atomic::AtomicUsize>,
    /// The tenant of the last load.
    tenant: Arc<Mutex<Option<TenantDef>>>,
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

    /// Patchset `patchset` proposes `text` as `project`'s config file.
    pub fn propose_file(&self, patchset: &str, project: &str, text: &str) {
        let proposal = (project.to_string(), text.to_string());
        self.proposed
            .lock()
            .unwrap()
            .insert(patchset.into(), proposal);
    }

    /// How many layouts were loaded so far.
    pub fn loads(&self) -> usize {
        self.loads.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl LayoutLoader for MemoryLoader {
    fn load(&self, tenant: TenantDef) -> BoxFuture<'static, Result<Layout, LoadError>> {
        let files = self.files.lock().unwrap().clone();
        self.loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        *self.tenant.lock().unwrap() = Some(tenant.clone());
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

    fn speculative(
        &self,
        _: &str,
        state: &MergeState,
    ) -> BoxFuture<'static, Result<Option<Arc<Layout>>, LoadError>> {
        let base = self.files.lock().unwrap().clone();
        let proposed = self.proposed.lock().unwrap();
        let changed: Vec<(String, Vec<ConfigFile>)> = state
            .commits
            .values()
            .filter_map(|commit| proposed.get(commit))
            .map(|(project, text)| {
                let file = base.iter().find(|f| f.project == *project).cloned();
                let file = file.map(|f| ConfigFile {
                    text: text.as_str().into(),
                    ..f
                });
                (project.clone(), file.into_iter().collect())
            })
            .collect();
        let tenant = self.tenant.lock().unwrap().clone().unwrap();
        let drivers = [("local".to_string(), "git".to_string())].into();
        let base_errors = Layout::build(&tenant, &drivers, &base).errors;
        let speculation = Speculation {
            tenant: &tenant,
            drivers: &drivers,
            base: &base,
            base_errors: &base_errors,
            keys: None,
        };
        let outcome = speculation.layout(&changed);
        let outcome = outcome.map(|l| l.map(Arc::new)).map_err(LoadError::Config);
        async move { outcome }.boxed()
    }
}
