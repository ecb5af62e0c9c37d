//! Engine CPU time per item: a gate (dependent pipeline, Zuul's default
//! window) of 200 changes with 5 jobs each, every port faked and every build
//! finishing at once, so what is measured is the engine itself: queue walks,
//! resets, merges asked, builds started, records written, reports in order.
//! Dependencies are on: each change builds on the one before (a git parent,
//! as in a stack of changes) and every tenth names the one ten before it in
//! a Depends-On footer, so every enqueue looks up what its change needs.
//!
//! Run: `cargo bench -p portcullis-actors --bench gate` (prints its figures).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use portcullis_actors::change::{
    ChangeRef, MergeError, MergeRequest, MergeState, PatchsetRef, Report, ReportError, Reporter,
    SpeculativeMerger,
};
use portcullis_actors::port::{LoadError, StoreError, StoreRecord};
use portcullis_actors::scheduler::Scheduler;
use portcullis_actors::{
    BuildLog, BuildOutcome, BuildRequest, BuildResult, BuildStore, EngineHandle, EnqueueRequest,
    Executor, LayoutLoader, LogHub, Ports, TriggerEvent,
};
use portcullis_config::{ConfigFile, Layout, TenantConfig, TenantDef};
use tokio::sync::Notify;

const CHANGES: u64 = 200;
const JOBS: usize = 5;

const TENANT: &str = "- tenant:\n    name: bench\n    source:\n      local:\n        config-projects: [config]\n        untrusted-projects: [demo]\n";

const CONFIG: &str = r#"
- pipeline:
    name: gate
    manager: dependent
    trigger: {local: [{event: ref-updated, ref: ^refs/heads/never$}]}
    success: {local: {merge: true}}
    failure: {local: {comment: failed}}
- job: {name: base, parent: null, run: playbooks/base.yaml}
"#;

/// Builds succeed at once, but only once the gate is open (every change enqueued),
/// so the queue is really 200 deep.
struct Instant0(tokio::sync::watch::Receiver<bool>);

impl Executor for Instant0 {
    fn run(&self, _: BuildRequest, _: BuildLog) -> BoxFuture<'static, BuildOutcome> {
        let mut open = self.0.clone();
        async move {
            let _ = open.wait_for(|open| *open).await;
            BuildOutcome::of(BuildResult::Success)
        }
        .boxed()
    }
}

struct NoStore;

impl BuildStore for NoStore {
    fn record(&self, _: StoreRecord) -> BoxFuture<'static, Result<(), StoreError>> {
        async { Ok(()) }.boxed()
    }
}

struct Files(Vec<ConfigFile>);

impl LayoutLoader for Files {
    fn load(&self, tenant: TenantDef) -> BoxFuture<'static, Result<Layout, LoadError>> {
        let drivers = [("local".to_string(), "git".to_string())].into();
        let layout = Layout::build(&tenant, &drivers, &self.0);
        async move { Ok(layout) }.boxed()
    }
}

struct Tip;

impl SpeculativeMerger for Tip {
    fn merge(&self, request: MergeRequest) -> BoxFuture<'static, Result<MergeState, MergeError>> {
        let mut state = MergeState::default();
        for merge in request.items {
            let key = (merge.item.connection, merge.item.project);
            state.commits.insert(key, merge.item.newrev);
        }
        async move { Ok(state) }.boxed()
    }

    fn changed_files(
        &self,
        _: &portcullis_actors::event::ItemRef,
    ) -> BoxFuture<'static, Option<Vec<String>>> {
        async { None }.boxed()
    }
}

/// Counts reports and wakes the bench when every change reported.
struct Counter {
    reports: AtomicUsize,
    done: Notify,
}

/// The reporter port over a shared counter.
struct Counting(Arc<Counter>);

impl Reporter for Counting {
    fn report(&self, _: Report) -> BoxFuture<'static, Result<(), ReportError>> {
        if self.0.reports.fetch_add(1, Ordering::SeqCst) + 1 == CHANGES as usize {
            self.0.done.notify_one();
        }
        async { Ok(()) }.boxed()
    }
}

fn file(project: &str, trusted: bool, text: String) -> ConfigFile {
    ConfigFile {
        connection: "local".into(),
        project: project.into(),
        branch: "master".into(),
        commit: "c0ffee".into(),
        path: "zuul.yaml".into(),
        trusted,
        text: text.into(),
    }
}

fn demo_config() -> String {
    let jobs: Vec<String> = (0..JOBS).map(|j| format!("job{j}")).collect();
    let mut text: String = jobs
        .iter()
        .map(|j| format!("- job: {{name: {j}}}\n"))
        .collect();
    text.push_str(&format!(
        "- project:\n    gate:\n      jobs: [{}]\n",
        jobs.join(", ")
    ));
    text
}

/// CPU time of this thread (the engine's arbiter runs here), in ms.
fn cpu_ms() -> f64 {
    use nix::time::{clock_gettime, ClockId};
    let t = clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).expect("a thread CPU clock");
    t.tv_sec() as f64 * 1000.0 + t.tv_nsec() as f64 / 1e6
}

/// One gate of CHANGES changes; returns (wall ms, CPU ms).
async fn run() -> Option<(f64, f64)> {
    let counter = Arc::new(Counter {
        reports: AtomicUsize::new(0),
        done: Notify::new(),
    });
    let files = vec![
        file("config", true, CONFIG.into()),
        file("demo", false, demo_config()),
    ];
    let log_hub = LogHub::new();
    let (gate, open) = tokio::sync::watch::channel(false);
    let ports = Ports {
        executor: Arc::new(Instant0(open)),
        store: Arc::new(NoStore),
        loader: Arc::new(Files(files)),
        merger: Arc::new(Tip),
        reporter: Arc::new(Counting(counter.clone())),
        log_hub: log_hub.clone(),
        web_root: "http://bench.invalid/".into(),
    };
    let tenants = TenantConfig::parse("main.yaml", TENANT).expect("the bench tenant parses");
    let engine = EngineHandle::new(actix::Actor::start(Scheduler::new(tenants, ports)), log_hub);
    let (wall, cpu) = (Instant::now(), cpu_ms());
    for number in 1..=CHANGES {
        let change = ChangeRef {
            number,
            patchset: format!("{number:040}"),
            url: None,
            message: format!("Change {number}"),
            depends_on: (number % 10 == 0 && number > 10)
                .then(|| format!("demo~{}", number - 10))
                .into_iter()
                .collect(),
            parents: (number > 1)
                .then(|| PatchsetRef {
                    project: "demo".into(),
                    number: number - 1,
                    patchset: format!("{:040}", number - 1),
                })
                .into_iter()
                .collect(),
        };
        let id = format!("{number},{}", change.patchset);
        engine.submit(TriggerEvent::for_change(
            "local",
            "patchset-created",
            "demo",
            "master",
            change,
        ));
        let request = EnqueueRequest {
            tenant: "bench".into(),
            pipeline: "gate".into(),
            project: "demo".into(),
            change: Some(id),
            ..EnqueueRequest::default()
        };
        if let Err(err) = engine.enqueue(request).await {
            eprintln!("enqueue failed: {err}");
            return None;
        }
    }
    gate.send_replace(true);
    counter.done.notified().await;
    Some((wall.elapsed().as_secs_f64() * 1000.0, cpu_ms() - cpu))
}

fn main() {
    let runs: Vec<(f64, f64)> = (0..5)
        .filter_map(|_| actix::System::new().block_on(run()))
        .collect();
    if runs.is_empty() {
        return;
    }
    let mut cpu: Vec<f64> = runs.iter().map(|r| r.1).collect();
    cpu.sort_by(f64::total_cmp);
    let median = cpu[cpu.len() / 2];
    let wall = runs.iter().map(|r| r.0).fold(f64::INFINITY, f64::min);
    println!("gate: {CHANGES} changes x {JOBS} jobs in one dependent queue (window 20), builds finish at once");
    println!(
        "  runs {}, best wall {wall:.0} ms, median engine CPU {median:.1} ms",
        runs.len()
    );
    println!(
        "  CPU per item {:.3} ms, per build {:.4} ms",
        median / CHANGES as f64,
        median / (CHANGES as usize * JOBS) as f64
    );
}
