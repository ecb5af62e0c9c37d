//! The jobs of one item and their dependencies: which may start, which are
//! skipped because a job they depend on did not succeed, and what data the
//! jobs they depend on returned. Pure; the item actor drives it.

use chrono::{DateTime, Utc};
use portcullis_config::FrozenJob;

use crate::port::BuildOutcome;
use crate::result::{buildset_result, BuildResult};

/// One job of the item and its current build.
pub struct JobSlot {
    /// The frozen job.
    pub job: FrozenJob,
    /// Indexes of the jobs it waits for (soft dependencies on absent jobs dropped).
    pub deps: Vec<usize>,
    /// The current build's uuid (new on every reset).
    pub uuid: String,
    /// Whether its build was started.
    pub started: bool,
    /// When its build began running.
    pub start_time: Option<DateTime<Utc>>,
    /// When it ended.
    pub end_time: Option<DateTime<Utc>>,
    /// How it ended.
    pub outcome: Option<BuildOutcome>,
    /// Whether an autohold request asked to keep it (its id).
    pub hold: Option<String>,
}

/// The job graph of one item.
pub struct JobGraph {
    /// Jobs in graph order.
    pub slots: Vec<JobSlot>,
}

fn new_uuid() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl JobGraph {
    /// The graph of `jobs`; dependencies name other jobs of the list.
    pub fn new(jobs: &[FrozenJob]) -> JobGraph {
        let index = |name: &str| jobs.iter().position(|j| j.name == name);
        let slots = jobs
            .iter()
            .map(|job| JobSlot {
                deps: job
                    .dependencies
                    .iter()
                    .filter_map(|dep| {
                        let found = index(&dep.name);
                        if found.is_none() && !dep.soft {
                            // Freezing rejects this; if it slips through, run without it.
                            tracing::warn!(job = %job.name, dependency = %dep.name, "hard dependency not in the graph");
                        }
                        found
                    })
                    .collect(),
                job: job.clone(),
                uuid: new_uuid(),
                started: false,
                start_time: None,
                end_time: None,
                outcome: None,
                hold: None,
            })
            .collect();
        JobGraph { slots }
    }

    /// Forgets every build: new uuids, nothing started (a reset of the item).
    pub fn reset(&mut self) {
        for slot in &mut self.slots {
            slot.uuid = new_uuid();
            slot.started = false;
            slot.start_time = None;
            slot.end_time = None;
            slot.outcome = None;
            slot.hold = None;
        }
    }

    /// The slot whose current build is `uuid`.
    pub fn slot_mut(&mut self, uuid: &str) -> Option<&mut JobSlot> {
        self.slots.iter_mut().find(|s| s.uuid == uuid)
    }

    /// Jobs not started whose dependencies all succeeded.
    pub fn ready(&self) -> Vec<usize> {
        let succeeded = |i: &usize| {
            self.slots[*i]
                .outcome
                .as_ref()
                .is_some_and(|o| o.result == BuildResult::Success)
        };
        (0..self.slots.len())
            .filter(|i| !self.slots[*i].started && self.slots[*i].outcome.is_none())
            .filter(|i| self.slots[*i].deps.iter().all(succeeded))
            .collect()
    }

    /// Marks SKIPPED every job waiting on a job that ended without success,
    /// transitively; returns the newly skipped.
    pub fn skip_children_of_failures(&mut self, now: DateTime<Utc>) -> Vec<usize> {
        let mut skipped = Vec::new();
        loop {
            let next = (0..self.slots.len()).find(|i| {
                let slot = &self.slots[*i];
                !slot.started
                    && slot.outcome.is_none()
                    && slot.deps.iter().any(|d| {
                        self.slots[*d]
                            .outcome
                            .as_ref()
                            .is_some_and(|o| o.result != BuildResult::Success)
                    })
            });
            let Some(i) = next else { return skipped };
            self.end_unrun(i, BuildResult::Skipped, now);
            skipped.push(i);
        }
    }

    /// Gives a job that never ran its result.
    fn end_unrun(&mut self, index: usize, result: BuildResult, now: DateTime<Utc>) {
        let slot = &mut self.slots[index];
        slot.outcome = Some(BuildOutcome::of(result));
        slot.end_time = Some(now);
    }

    /// zuul_return's `child_jobs`: when the job whose build is `uuid` returned a
    /// list, the jobs depending on it directly that the list does not name are
    /// SKIPPED (names of jobs that are not its children are ignored, so a list
    /// of only those skips them all); returns the newly skipped.
    pub fn skip_unchosen_children(&mut self, uuid: &str, now: DateTime<Utc>) -> Vec<usize> {
        let Some(parent) = self.slots.iter().position(|s| s.uuid == uuid) else {
            return Vec::new();
        };
        let outcome = self.slots[parent].outcome.as_ref();
        let Some(chosen) =
            outcome.and_then(|o| chosen_children(&self.slots[parent].job.name, &o.data))
        else {
            return Vec::new();
        };
        let unchosen: Vec<usize> = (0..self.slots.len())
            .filter(|i| {
                let slot = &self.slots[*i];
                slot.deps.contains(&parent)
                    && !slot.started
                    && slot.outcome.is_none()
                    && !chosen.contains(&slot.job.name)
            })
            .collect();
        for &i in &unchosen {
            self.end_unrun(i, BuildResult::Skipped, now);
        }
        unchosen
    }

    /// Fail-fast: every job without a result becomes CANCELED; returns those
    /// that never started (the running ones are stopped by the caller).
    pub fn cancel_unfinished(&mut self, now: DateTime<Utc>) -> Vec<usize> {
        let mut unrun = Vec::new();
        for index in 0..self.slots.len() {
            let slot = &mut self.slots[index];
            if slot.outcome.is_some() {
                continue;
            }
            if slot.started {
                slot.end_time = Some(now);
                slot.outcome = Some(BuildOutcome::of(BuildResult::Canceled));
            } else {
                self.end_unrun(index, BuildResult::Canceled, now);
                unrun.push(index);
            }
        }
        unrun
    }

    /// Names of the jobs that depend on job `index` directly.
    pub fn children_of(&self, index: usize) -> Vec<String> {
        let children = self.slots.iter().filter(|s| s.deps.contains(&index));
        children.map(|s| s.job.name.clone()).collect()
    }

    /// The data returned by every job `index` depends on (transitively), merged
    /// with the nearer jobs' values over the farther ones'.
    pub fn parent_data(&self, index: usize) -> serde_json::Value {
        let mut order = Vec::new();
        self.ancestors(index, &mut order);
        let mut merged = serde_json::Value::Null;
        for i in order {
            if let Some(outcome) = &self.slots[i].outcome {
                merge_json(&mut merged, &outcome.data);
            }
        }
        merged
    }

    /// Ancestors of `index`, farthest first, each once.
    fn ancestors(&self, index: usize, out: &mut Vec<usize>) {
        for dep in &self.slots[index].deps {
            if !out.contains(dep) {
                self.ancestors(*dep, out);
                if !out.contains(dep) {
                    out.push(*dep);
                }
            }
        }
    }

    /// True when every job has an outcome.
    /// Whether every job that holds following changes succeeded (true when none does).
    pub fn holds_released(&self) -> bool {
        let mut holding = self.slots.iter().filter(|s| s.job.hold_following_changes);
        holding.all(|s| s.outcome.as_ref().map(|o| o.result) == Some(BuildResult::Success))
    }

    /// Whether every job has a result.
    pub fn all_done(&self) -> bool {
        self.slots.iter().all(|s| s.outcome.is_some())
    }

    /// The buildset's result, by Zuul's rule.
    pub fn result(&self) -> BuildResult {
        buildset_result(self.slots.iter().map(|s| {
            let result = s.outcome.as_ref().map_or(BuildResult::Error, |o| o.result);
            (s.job.voting, result)
        }))
    }
}

/// The names a job's returned data lists under `zuul.child_jobs`; `None` when
/// it chose nothing (no such key, or not a list, which is logged and ignored).
fn chosen_children(job: &str, data: &serde_json::Value) -> Option<Vec<String>> {
    let listed = data.get("zuul")?.get("child_jobs")?;
    let Some(listed) = listed.as_array() else {
        tracing::warn!(%job, child_jobs = %listed, "zuul_return child_jobs is not a list; ignored");
        return None;
    };
    Some(
        listed
            .iter()
            .filter_map(|name| name.as_str().map(str::to_string))
            .collect(),
    )
}

/// Deep-merges `from` into `into`: objects key by key, anything else replaced.
pub fn merge_json(into: &mut serde_json::Value, from: &serde_json::Value) {
    use serde_json::Value;
    match (into, from) {
        (_, Value::Null) => {}
        (Value::Object(into), Value::Object(from)) => {
            for (key, value) in from {
                merge_json(into.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (into, from) => *into = from.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_config::job::JobDependency;
    use serde_json::json;

    fn job(name: &str, deps: &[(&str, bool)]) -> FrozenJob {
        let mut job = FrozenJob::named(name);
        job.dependencies = deps
            .iter()
            .map(|(n, soft)| JobDependency {
                name: n.to_string(),
                soft: *soft,
            })
            .collect();
        job
    }

    fn finish(graph: &mut JobGraph, i: usize, result: BuildResult, data: serde_json::Value) {
        graph.slots[i].started = true;
        graph.slots[i].outcome = Some(BuildOutcome {
            data,
            ..BuildOutcome::of(result)
        });
    }

    #[test]
    fn a_job_is_ready_only_once_its_dependencies_succeeded() {
        let mut graph = JobGraph::new(&[job("build", &[]), job("test", &[("build", false)])]);
        assert_eq!(graph.ready(), vec![0]);
        finish(&mut graph, 0, BuildResult::Success, json!(null));
        assert_eq!(graph.ready(), vec![1]);
    }

    #[test]
    fn soft_dependencies_on_absent_jobs_are_ignored() {
        let graph = JobGraph::new(&[job("test", &[("absent", true)])]);
        assert_eq!(graph.ready(), vec![0]);
    }

    #[test]
    fn children_and_grandchildren_of_a_failed_job_are_skipped() {
        let mut graph = JobGraph::new(&[
            job("a", &[]),
            job("b", &[("a", false)]),
            job("c", &[("b", false)]),
        ]);
        finish(&mut graph, 0, BuildResult::Failure, json!(null));
        assert_eq!(graph.skip_children_of_failures(Utc::now()), vec![1, 2]);
        assert!(graph.all_done());
        assert_eq!(graph.result(), BuildResult::Failure);
    }

    #[test]
    fn child_jobs_that_is_not_a_list_of_names_chooses_nothing_and_skips_no_child() {
        let graph = || JobGraph::new(&[job("a", &[]), job("b", &[("a", false)])]);
        for garbage in [json!({"zuul": {"child_jobs": "b"}}), json!({"zuul": 3})] {
            let mut graph = graph();
            finish(&mut graph, 0, BuildResult::Success, garbage);
            let uuid = graph.slots[0].uuid.clone();
            assert!(graph.skip_unchosen_children(&uuid, Utc::now()).is_empty());
            assert_eq!(graph.ready(), vec![1]);
        }
        let mut graph = graph();
        finish(
            &mut graph,
            0,
            BuildResult::Success,
            json!({"zuul": {"child_jobs": [7]}}),
        );
        let uuid = graph.slots[0].uuid.clone();
        assert_eq!(graph.skip_unchosen_children(&uuid, Utc::now()), vec![1]);
    }

    #[test]
    fn parent_data_merges_ancestors_nearest_last() {
        let mut graph = JobGraph::new(&[
            job("a", &[]),
            job("b", &[("a", false)]),
            job("c", &[("b", false)]),
        ]);
        finish(
            &mut graph,
            0,
            BuildResult::Success,
            json!({"x": 1, "y": {"k": 1}}),
        );
        finish(&mut graph, 1, BuildResult::Success, json!({"y": {"k": 2}}));
        assert_eq!(graph.parent_data(2), json!({"x": 1, "y": {"k": 2}}));
        assert_eq!(graph.parent_data(0), json!(null));
    }
}
