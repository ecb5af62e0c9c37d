//! A running engine with every port faked, and the verbs scenarios speak:
//! propose a change, enqueue it, wait for reports and records.

use std::sync::Arc;

use portcullis_config::TenantConfig;

use super::fake_merger::{FakeMerger, FakeReporter};
use super::fakes::{FakeExecutor, MemoryLoader, MemoryStore};
use crate::admin::EnqueueRequest;
use crate::change::{ChangeRef, PatchsetRef};
use crate::port::{Ports, StoreRecord};
use crate::scheduler::Scheduler;
use crate::status::{ChangeQueueStatus, ItemStatus, PipelineStatus};
use crate::{EngineHandle, LogHub, TriggerEvent};

/// A running engine with fakes, and the fakes to steer it.
pub struct Harness {
    pub engine: EngineHandle,
    pub executor: FakeExecutor,
    pub store: MemoryStore,
    pub loader: MemoryLoader,
    pub merger: FakeMerger,
    pub reporter: FakeReporter,
}

/// Where the engine's web UI is said to be.
pub const WEB_ROOT: &str = "https://portcullis.test/";

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

/// Pipelines for gating scenarios. Git triggers take only ref-updated in the
/// config crate for now, so changes enter through the admin enqueue (the
/// ref below never moves).
pub const GATING: &str = r#"
- pipeline:
    name: check
    manager: independent
    trigger: {local: [{event: ref-updated, ref: ^refs/heads/never$}]}
    success: {local: {comment: ok}}
    failure: {local: {comment: failed}}
- pipeline:
    name: gate
    manager: dependent
    trigger: {local: [{event: ref-updated, ref: ^refs/heads/never$}]}
    success: {local: {merge: true}}
    failure: {local: {comment: failed}}
- pipeline:
    name: deploy
    manager: serial
    trigger: {local: [{event: ref-updated, ref: ^refs/heads/never$}]}
- pipeline:
    name: promote
    manager: supercedent
    trigger: {local: [{event: ref-updated, ref: ^refs/heads/never$}]}
- queue:
    name: integrated
- job:
    name: base
    parent: null
    run: playbooks/base.yaml
"#;

impl Harness {
    /// Starts an engine over the example tenant, with `demo` running `jobs` in `post`.
    pub fn start(jobs: &[&str]) -> Harness {
        Harness::with(CONFIG, &demo_config(jobs))
    }

    /// Starts an engine with `config` in the config project and `demo` as the demo project's.
    pub fn with(config: &str, demo: &str) -> Harness {
        Harness::restoring(config, demo, Vec::new())
    }

    /// Starts an engine as [`Harness::with`] does, restoring `saved` queues.
    pub fn restoring(config: &str, demo: &str, saved: Vec<crate::port::SavedQueue>) -> Harness {
        let loader = MemoryLoader::default();
        loader.set_file("config", true, config);
        loader.set_file("demo", false, demo);
        let executor = FakeExecutor::default();
        let store = MemoryStore::default();
        let merger = FakeMerger::default();
        let reporter = FakeReporter::default();
        let log_hub = LogHub::new();
        let ports = Ports {
            executor: Arc::new(executor.clone()),
            store: Arc::new(store.clone()),
            loader: Arc::new(loader.clone()),
            merger: Arc::new(merger.clone()),
            reporter: Arc::new(reporter.clone()),
            log_hub: log_hub.clone(),
            web_root: WEB_ROOT.into(),
        };
        let tenants = TenantConfig::parse("main.yaml", TENANT).unwrap();
        let scheduler = actix::Actor::start(Scheduler::new(tenants, ports).restoring(saved));
        Harness {
            engine: EngineHandle::new(scheduler, log_hub),
            executor,
            store,
            loader,
            merger,
            reporter,
        }
    }

    /// The gating pipelines' config (see [`Harness::gating`]).
    pub const GATING: &'static str = GATING;

    /// Starts an engine with the gating pipelines and `demo` config.
    pub fn gating(demo: &str) -> Harness {
        Harness::with(GATING, demo)
    }

    /// Pushes a commit to a branch of a project.
    pub fn push(&self, project: &str, branch: &str) {
        let event = TriggerEvent::ref_updated(
            "local",
            project,
            &format!("refs/heads/{branch}"),
            &"1".repeat(40),
            &"2".repeat(40),
        );
        self.engine.submit(event);
    }

    /// Tells the engine of patchset `patchset` of change `number` of `project`
    /// (on master) depending on `depends_on`; returns its `N,P`.
    pub fn propose(
        &self,
        project: &str,
        number: u64,
        patchset: u32,
        depends_on: &[&str],
    ) -> String {
        self.propose_on(project, number, patchset, depends_on, &[])
    }

    /// Like [`Harness::propose`], with the commits built on `parents`: patchsets
    /// (project, number, patchset) of other changes.
    pub fn propose_on(
        &self,
        project: &str,
        number: u64,
        patchset: u32,
        depends_on: &[&str],
        parents: &[(&str, u64, u32)],
    ) -> String {
        let change = ChangeRef {
            number,
            patchset: sha(number, patchset),
            url: Some(format!("https://review.test/{project}/{number}")),
            message: format!("Change {number}"),
            depends_on: depends_on.iter().map(|d| d.to_string()).collect(),
            parents: parents
                .iter()
                .map(|(project, number, patchset)| PatchsetRef {
                    project: project.to_string(),
                    number: *number,
                    patchset: sha(*number, *patchset),
                })
                .collect(),
        };
        let id = format!("{},{}", change.number, change.patchset);
        let event =
            TriggerEvent::for_change("local", "patchset-created", project, "master", change);
        self.engine.submit(event);
        id
    }

    /// Tells the engine that change `number` of `project` was abandoned, or merged outside the gate.
    pub fn change_event(&self, event_type: &str, project: &str, number: u64) {
        let change = ChangeRef {
            number,
            patchset: sha(number, 1),
            url: None,
            message: String::new(),
            depends_on: Vec::new(),
            parents: Vec::new(),
        };
        let event = TriggerEvent::for_change("local", event_type, project, "master", change);
        self.engine.submit(event);
    }

    /// Enqueues the latest patchset of the known change `number` of `project` into `pipeline`.
    pub async fn enqueue_known(&self, pipeline: &str, project: &str, number: u64) {
        let request = EnqueueRequest {
            tenant: "example".into(),
            pipeline: pipeline.into(),
            project: project.into(),
            change: Some(number.to_string()),
            ..EnqueueRequest::default()
        };
        self.engine.enqueue(request).await.unwrap();
    }

    /// Proposes change `number` of `project` and enqueues it into `pipeline`.
    pub async fn enqueue(
        &self,
        pipeline: &str,
        project: &str,
        number: u64,
        depends_on: &[&str],
    ) -> String {
        let id = self.propose(project, number, 1, depends_on);
        let request = EnqueueRequest {
            tenant: "example".into(),
            pipeline: pipeline.into(),
            project: project.into(),
            change: Some(id.clone()),
            ..EnqueueRequest::default()
        };
        self.engine.enqueue(request).await.unwrap();
        id
    }

    /// Waits until `n` buildsets finished; returns (change, result) in finishing order.
    pub async fn finished(&self, n: usize) -> Vec<(u64, crate::result::BuildResult)> {
        let records = self
            .store
            .until(|r| MemoryStore::buildset_results(r).len() >= n)
            .await;
        MemoryStore::results_by_change(&records)
    }

    /// Waits until `n` builds were started.
    pub async fn started(&self, n: usize) -> Vec<StoreRecord> {
        self.store
            .until(|r| {
                r.iter()
                    .filter(|r| matches!(r, StoreRecord::BuildStarted { .. }))
                    .count()
                    >= n
            })
            .await
    }

    /// Waits until a build of change `number` was started.
    pub async fn running(&self, number: u64) {
        self.store
            .until(|records| {
                let buildsets: Vec<&String> = records
                    .iter()
                    .filter_map(|r| match r {
                        StoreRecord::BuildsetStarted { uuid, item, .. }
                            if item.change.as_ref().is_some_and(|c| c.number == number) =>
                        {
                            Some(uuid)
                        }
                        _ => None,
                    })
                    .collect();
                records.iter().any(|r| {
                    matches!(r, StoreRecord::BuildStarted { buildset_uuid, .. } if buildsets.contains(&buildset_uuid))
                })
            })
            .await;
    }

    /// The status of `pipeline`.
    pub async fn pipeline(&self, pipeline: &str) -> PipelineStatus {
        let status = self.engine.status("example").await.unwrap();
        status
            .pipelines
            .into_iter()
            .find(|p| p.name == pipeline)
            .unwrap()
    }
}

/// The changes reported as merged (a success whose reporter merges), in report order.
pub fn merged(reports: &[(u64, crate::result::BuildResult, bool)]) -> Vec<u64> {
    let merges = reports
        .iter()
        .filter(|(_, r, m)| *r == crate::result::BuildResult::Success && *m);
    merges.map(|(n, _, _)| *n).collect()
}

/// The sha of patchset `patchset` of change `number` in the fakes.
pub fn sha(number: u64, patchset: u32) -> String {
    format!("{number}{patchset:039}")
}

/// Every item of a pipeline's status, queue by queue, head first.
pub fn items(pipeline: &PipelineStatus) -> Vec<&ItemStatus> {
    let queues = pipeline.change_queues.iter();
    queues
        .flat_map(|q: &ChangeQueueStatus| q.heads.iter().flatten())
        .collect()
}

/// The demo project's config: jobs (each a child of base) run in `post`.
pub fn demo_config(jobs: &[&str]) -> String {
    project_config(&["post"], jobs, "")
}

/// Jobs (children of base) run in each of `pipelines`; `extra` goes into the project stanza.
pub fn project_config(pipelines: &[&str], jobs: &[&str], extra: &str) -> String {
    let mut text = String::new();
    for job in jobs {
        text.push_str(&format!("- job:\n    name: {job}\n"));
    }
    text.push_str("- project:\n");
    text.push_str(extra);
    for pipeline in pipelines {
        text.push_str(&format!("    {pipeline}:\n      jobs:\n"));
        for job in jobs {
            text.push_str(&format!("        - {job}\n"));
        }
    }
    text
}
