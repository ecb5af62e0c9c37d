//! Deterministic fakes of the merger and the reporter, told which changes
//! conflict, which merges fail, and remembering what they were asked.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use tokio::sync::watch;

use crate::change::{
    MergeError, MergeRequest, MergeState, Report, ReportError, Reporter, SpeculativeMerger,
};
use crate::event::ItemRef;
use crate::result::BuildResult;

#[derive(Default)]
struct MergerRules {
    /// Pairs of change numbers that cannot be merged together.
    conflicts: Vec<(u64, u64)>,
    /// Changes the merger errors on.
    broken: HashSet<u64>,
    requests: Vec<MergeRequest>,
    /// The files each change changes; a change not here: not known.
    files: HashMap<u64, Vec<String>>,
    /// The files each project's ref updates change; a project not here: not known.
    ref_files: HashMap<String, Vec<String>>,
    /// How often the files of an item were asked for.
    files_asked: usize,
    /// Every item a state was ever kept for.
    kept_ever: HashSet<String>,
}

/// A merger whose state is each item's own revision, unless told that changes conflict.
#[derive(Clone)]
pub struct FakeMerger {
    rules: Arc<Mutex<MergerRules>>,
    /// Items whose state is kept, until released.
    kept: Arc<watch::Sender<BTreeSet<String>>>,
}

impl Default for FakeMerger {
    fn default() -> Self {
        FakeMerger {
            rules: Arc::default(),
            kept: Arc::new(watch::channel(BTreeSet::new()).0),
        }
    }
}

fn number(request_item: &crate::change::MergeItem) -> Option<u64> {
    request_item.item.change.as_ref().map(|c| c.number)
}

impl FakeMerger {
    /// Change `a` conflicts with change `b` (when both are in one state).
    pub fn conflict(&self, a: u64, b: u64) {
        self.rules.lock().unwrap().conflicts.push((a, b));
    }

    /// The merger fails (not a conflict) on states that end with change `n`.
    pub fn break_on(&self, n: u64) {
        self.rules.lock().unwrap().broken.insert(n);
    }

    /// Change `n` changes `files`.
    pub fn set_files(&self, n: u64, files: &[&str]) {
        let files = files.iter().map(|f| f.to_string()).collect();
        self.rules.lock().unwrap().files.insert(n, files);
    }

    /// Ref updates of `project` change `files`.
    pub fn set_ref_files(&self, project: &str, files: &[&str]) {
        let files = files.iter().map(|f| f.to_string()).collect();
        let mut rules = self.rules.lock().unwrap();
        rules.ref_files.insert(project.to_string(), files);
    }

    /// How often the files of an item (change or ref) were asked for.
    pub fn files_asked(&self) -> usize {
        self.rules.lock().unwrap().files_asked
    }

    /// For each request so far whose item is change `n`: the changes in it, in order.
    pub fn states_of(&self, n: u64) -> Vec<Vec<u64>> {
        let rules = self.rules.lock().unwrap();
        let of_n = rules
            .requests
            .iter()
            .filter(|r| r.items.last().and_then(number) == Some(n));
        of_n.map(|r| r.items.iter().filter_map(number).collect())
            .collect()
    }

    /// Every request so far: the changes in it, in order.
    pub fn states(&self) -> Vec<Vec<u64>> {
        let rules = self.rules.lock().unwrap();
        let all = rules.requests.iter();
        all.map(|r| r.items.iter().filter_map(number).collect())
            .collect()
    }

    /// The (project, branch) the jobs required, of every request so far for change `n`.
    pub fn required_of(&self, n: u64) -> Vec<Vec<(String, String)>> {
        let rules = self.rules.lock().unwrap();
        let of_n = rules
            .requests
            .iter()
            .filter(|r| r.items.last().and_then(number) == Some(n));
        let pairs = |r: &MergeRequest| {
            let each = r.required.iter().map(|(_, p, b)| (p.clone(), b.clone()));
            each.collect()
        };
        of_n.map(pairs).collect()
    }

    /// Waits (up to 10 s) until no item's state is kept; returns how many items had one.
    pub async fn until_all_released(&self) -> usize {
        let mut rx = self.kept.subscribe();
        let wait = async { rx.wait_for(|kept| kept.is_empty()).await.is_ok() };
        let released = tokio::time::timeout(Duration::from_secs(10), wait).await;
        assert!(released == Ok(true), "still kept: {:?}", self.kept.borrow());
        self.rules.lock().unwrap().kept_ever.len()
    }
}

impl SpeculativeMerger for FakeMerger {
    fn merge(&self, request: MergeRequest) -> BoxFuture<'static, Result<MergeState, MergeError>> {
        let mut rules = self.rules.lock().unwrap();
        rules.requests.push(request.clone());
        let numbers: Vec<u64> = request.items.iter().filter_map(number).collect();
        let last = numbers.last().copied();
        let conflicting = rules.conflicts.iter().any(|(a, b)| {
            let pair = |x: u64, y: u64| last == Some(x) && numbers.contains(&y);
            pair(*a, *b) || pair(*b, *a)
        });
        let broken = last.is_some_and(|n| rules.broken.contains(&n));
        let mut state = MergeState::default();
        for merge in &request.items {
            let key = (merge.item.connection.clone(), merge.item.project.clone());
            state.commits.insert(key, merge.item.newrev.clone());
        }
        let outcome = match (conflicting, broken) {
            (true, _) => Err(MergeError::Conflict {
                project: "demo".into(),
                detail: "both changed README".into(),
            }),
            (_, true) => Err(MergeError::Failed("the repo is gone".into())),
            _ => {
                rules.kept_ever.insert(request.item_uuid.clone());
                self.kept
                    .send_modify(|kept| _ = kept.insert(request.item_uuid.clone()));
                Ok(state)
            }
        };
        async move { outcome }.boxed()
    }

    fn changed_files(&self, item: &ItemRef) -> BoxFuture<'static, Option<Vec<String>>> {
        let mut rules = self.rules.lock().unwrap();
        rules.files_asked += 1;
        let files = match &item.change {
            Some(change) => rules.files.get(&change.number).cloned(),
            None => rules.ref_files.get(&item.project).cloned(),
        };
        async move { files }.boxed()
    }

    fn release(&self, item_uuid: &str, _: &MergeState) {
        self.kept.send_modify(|kept| _ = kept.remove(item_uuid));
    }
}

/// A reporter that records reports and fails merges it was told to fail.
#[derive(Clone)]
pub struct FakeReporter {
    reports: Arc<watch::Sender<Vec<Report>>>,
    failing: Arc<Mutex<HashSet<u64>>>,
}

impl Default for FakeReporter {
    fn default() -> Self {
        FakeReporter {
            reports: Arc::new(watch::channel(Vec::new()).0),
            failing: Arc::default(),
        }
    }
}

impl FakeReporter {
    /// Merging change `n` fails when reported.
    pub fn fail_merge_of(&self, n: u64) {
        self.failing.lock().unwrap().insert(n);
    }

    /// The message of the last report to change `n`, if any.
    pub fn message_of(&self, n: u64) -> Option<String> {
        let reports = self.reports.borrow();
        let of_n = reports.iter().rfind(|r| summary(r).0 == n);
        of_n.map(|r| r.message.clone())
    }

    /// Every report so far, in order.
    pub fn reports(&self) -> Vec<Report> {
        self.reports.borrow().clone()
    }

    /// Waits (up to 10 s) for `n` reports; returns (change, result, merge asked) of each.
    pub async fn until(&self, n: usize) -> Vec<(u64, BuildResult, bool)> {
        let mut rx = self.reports.subscribe();
        let wait = async { rx.wait_for(|r| r.len() >= n).await.map(|r| r.clone()) };
        match tokio::time::timeout(Duration::from_secs(10), wait).await {
            Ok(Ok(reports)) => reports.iter().map(summary).collect(),
            _ => panic!("timed out; reports: {:#?}", self.reports.borrow()),
        }
    }
}

fn wants_merge(report: &Report) -> bool {
    report.settings.get("merge").and_then(|m| m.as_bool()) == Some(true)
}

fn summary(report: &Report) -> (u64, BuildResult, bool) {
    let number = report.item.change.as_ref().map_or(0, |c| c.number);
    (number, report.result, wants_merge(report))
}

impl Reporter for FakeReporter {
    fn report(&self, report: Report) -> BoxFuture<'static, Result<(), ReportError>> {
        let (number, _, merge) = summary(&report);
        let fails = merge && self.failing.lock().unwrap().contains(&number);
        self.reports.send_modify(|r| r.push(report));
        let outcome = match fails {
            true => Err(ReportError(format!(
                "change {number} is no longer at its patchset"
            ))),
            false => Ok(()),
        };
        async move { outcome }.boxed()
    }
}
