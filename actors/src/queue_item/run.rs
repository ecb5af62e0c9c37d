//! How an item runs its buildset: the merge, the builds in dependency order
//! (the built-in `noop` succeeding on the spot), children a job's zuul_return
//! did not choose skipped, fail-fast, resets, and its end once every build stopped.

use actix::prelude::*;
use chrono::{DateTime, Utc};
use portcullis_config::freeze::NOOP_JOB;

use super::{Progress, QueueItem};
use crate::build::{Build, BuildEvent, CancelBuild};
use crate::change::{MergeError, MergeRequest, MergeState};
use crate::port::{BuildOutcome, BuildRequest, LoadError, StoreRecord};
use portcullis_config::{ConfigError, Layout};
use std::sync::Arc;

use super::JobGraph;
use crate::report_text::{buildset_url, report_text, JobLine};
use crate::result::BuildResult;

impl QueueItem {
    /// Drops the current buildset (its running builds are canceled and retired)
    /// and moves to `generation` with a fresh job graph.
    pub(super) fn restart(&mut self, generation: u32) {
        self.retire_running();
        self.generation = generation;
        self.graph.reset();
        self.state = None;
        self.told_failed = false;
    }

    /// Cancels every running build; their ends are stored but change nothing.
    pub(super) fn retire_running(&mut self) {
        for (uuid, build) in self.running.drain() {
            build.do_send(CancelBuild);
            self.retired.insert(uuid);
        }
    }

    pub(super) fn merge(&mut self, request: MergeRequest, ctx: &mut Context<Self>) {
        let generation = self.generation;
        // Merged before its jobs were known: once frozen, they may need more projects.
        let blind = self.spec.jobs.is_err().then(|| request.clone());
        let merger = self.ports.merger.clone();
        let merging = merger.merge(request);
        // Asked after the merge, which has fetched the item's commits.
        let files = self.needs_files().then(|| merger.changed_files(&self.item));
        let merging = async move {
            let merged = merging.await;
            let files = match (files, &merged) {
                (Some(files), Ok(_)) => files.await,
                _ => None,
            };
            (merged, files)
        };
        ctx.spawn(
            merging
                .into_actor(self)
                .map(move |(merged, files), item, ctx| {
                    // A reset or the end may have come while the merger worked.
                    if item.generation == generation && item.finishing.is_none() {
                        item.merged(merged, files, blind, ctx);
                    }
                }),
        );
    }

    /// The merger answered: freezes the graph (once), merges again when the
    /// jobs, unknown before, need more projects, else runs them on the state.
    fn merged(
        &mut self,
        merged: Result<MergeState, MergeError>,
        files: Option<Vec<String>>,
        blind: Option<MergeRequest>,
        ctx: &mut Context<Self>,
    ) {
        let state = match merged {
            Ok(state) => state,
            Err(err) => {
                tracing::info!(item = %self.id, %err, "no speculative state");
                let conflict = matches!(err, MergeError::Conflict { .. });
                let detail = err.to_string();
                return self.tell(Progress::MergeFailed { conflict, detail });
            }
        };
        let generation = self.generation;
        let loading = self.ports.loader.speculative(&self.spec.tenant, &state);
        ctx.spawn(loading.into_actor(self).map(move |loaded, item, ctx| {
            if item.generation != generation || item.finishing.is_some() {
                return;
            }
            let taken = match loaded {
                Ok(None) => true,
                Ok(Some(layout)) => item.take_layout(layout),
                Err(LoadError::Config(errors)) => {
                    let message = config_error_text(&errors);
                    item.tell(Progress::ConfigError { message });
                    false
                }
                Err(LoadError::Repo(detail)) => {
                    let detail = format!("cannot read the state's config: {detail}");
                    item.tell(Progress::MergeFailed {
                        conflict: false,
                        detail,
                    });
                    false
                }
            };
            match taken {
                true => item.frozen_on(state, files.as_deref(), blind, ctx),
                false => item.ports.merger.release(&item.id, &state),
            }
        }));
    }

    /// The item's jobs frozen again from `layout`, the layout its state's
    /// config makes; false (told) when they cannot be.
    fn take_layout(&mut self, layout: Arc<Layout>) -> bool {
        let branch = self.item.branch.as_deref().unwrap_or_default();
        let jobs = layout.job_graph(&self.spec.pipeline, &self.item.project, branch);
        self.spec.layout = layout;
        self.frozen = false;
        match jobs {
            Ok(jobs) => {
                self.graph = JobGraph::new(&jobs);
                self.spec.jobs = Ok(jobs);
                true
            }
            Err(err) => {
                let message = config_error_text(&[err]);
                self.tell(Progress::ConfigError { message });
                false
            }
        }
    }

    /// Freezes the graph with the files (once), merges again when the jobs,
    /// unknown before, need more projects, else runs them on the state.
    fn frozen_on(
        &mut self,
        state: MergeState,
        files: Option<&[String]>,
        blind: Option<MergeRequest>,
        ctx: &mut Context<Self>,
    ) {
        if !self.freeze(files) {
            // No job will use it: let it go now.
            return self.ports.merger.release(&self.id, &state);
        }
        let required = self.required_projects();
        match blind {
            Some(mut again) if !required.is_empty() => {
                again.required = required;
                self.merge(again, ctx);
            }
            _ => {
                self.state = Some(state);
                self.advance(ctx);
            }
        }
    }

    /// Skips the children of failed jobs, starts every job now ready, and tells
    /// the pipeline when every job has a result.
    pub(super) fn advance(&mut self, ctx: &mut Context<Self>) {
        let Some(state) = self.state.clone() else {
            return;
        };
        // A noop succeeds at once, which may make its children ready: go round again.
        loop {
            let now = Utc::now();
            let skipped = self.graph.skip_children_of_failures(now);
            self.record_unrun(&skipped, BuildResult::Skipped, now);
            let mut noops = false;
            for index in self.graph.ready() {
                if self.graph.slots[index].job.name == NOOP_JOB {
                    self.run_noop(index, now);
                    noops = true;
                } else {
                    self.start_build(index, &state, now, ctx);
                }
            }
            if !noops {
                break;
            }
        }
        if self.graph.all_done() {
            self.tell(Progress::JobsCompleted {
                result: self.graph.result(),
            });
        }
    }

    fn start_build(
        &mut self,
        index: usize,
        state: &MergeState,
        now: DateTime<Utc>,
        ctx: &mut Context<Self>,
    ) {
        let parent_data = self.graph.parent_data(index);
        let child_jobs = self.graph.children_of(index);
        let slot = &mut self.graph.slots[index];
        slot.started = true;
        slot.hold = self
            .spec
            .autoholds
            .matching(&self.spec.tenant, &slot.job.name, &self.item);
        let request = BuildRequest {
            uuid: slot.uuid.clone(),
            buildset_uuid: self.buildset_uuid.clone(),
            tenant: self.spec.tenant.clone(),
            pipeline: self.spec.pipeline.clone(),
            item: self.item.clone(),
            job: slot.job.clone(),
            state: state.clone(),
            parent_data,
            child_jobs,
            hold: slot.hold.is_some(),
        };
        let uuid = slot.uuid.clone();
        // Stored now, not when the build says it began, so a build retired
        // before its first word still has a start to its end.
        let started = self.build_started(index, now);
        self.records.push(started);
        let me = ctx.address().recipient();
        let build = Build::new(request, self.ports.clone(), me).start();
        self.running.insert(uuid, build);
    }

    /// The built-in noop: no build, no node, SUCCESS now (and stored so).
    fn run_noop(&mut self, index: usize, now: DateTime<Utc>) {
        let slot = &mut self.graph.slots[index];
        slot.started = true;
        slot.start_time = Some(now);
        slot.end_time = Some(now);
        slot.outcome = Some(BuildOutcome::of(BuildResult::Success));
        let started = self.build_started(index, now);
        self.records.push(started);
        self.records.push(StoreRecord::BuildFinished {
            uuid: self.graph.slots[index].uuid.clone(),
            result: BuildResult::Success,
            end_time: now,
            log_url: None,
            error_detail: None,
            held: false,
        });
    }

    /// Stores a start and an end with `result` for jobs that never ran (skipped, canceled).
    fn record_unrun(&mut self, indexes: &[usize], result: BuildResult, now: DateTime<Utc>) {
        for &index in indexes {
            let started = self.build_started(index, now);
            self.records.push(started);
            self.records.push(StoreRecord::BuildFinished {
                uuid: self.graph.slots[index].uuid.clone(),
                result,
                end_time: now,
                log_url: None,
                error_detail: None,
                held: false,
            });
        }
    }

    fn build_started(&self, index: usize, start_time: chrono::DateTime<Utc>) -> StoreRecord {
        let slot = &self.graph.slots[index];
        StoreRecord::BuildStarted {
            buildset_uuid: self.buildset_uuid.clone(),
            uuid: slot.uuid.clone(),
            job_name: slot.job.name.clone(),
            voting: slot.job.voting,
            nodeset: slot.job.nodeset.name.clone(),
            start_time,
        }
    }

    fn completed(&mut self, uuid: String, outcome: BuildOutcome, ctx: &mut Context<Self>) {
        self.running.remove(&uuid);
        let retired = self.retired.remove(&uuid);
        let slot = match self.graph.slot_mut(&uuid) {
            Some(slot) if !retired && slot.outcome.is_none() => slot,
            _ => {
                self.store_end(&uuid, &outcome, false);
                self.finish_when_quiet(ctx);
                return;
            }
        };
        let now = Utc::now();
        slot.end_time = Some(now);
        slot.outcome = Some(outcome.clone());
        let failed = outcome.result != BuildResult::Success;
        let hold = slot.hold.clone().filter(|_| failed);
        let (job, voting) = (slot.job.name.clone(), slot.job.voting);
        let held_following = slot.job.hold_following_changes;
        if let Some(request) = &hold {
            self.spec.autoholds.held(request, &uuid);
        }
        self.store_end(&uuid, &outcome, hold.is_some());
        if self.finishing.is_some() {
            return self.finish_when_quiet(ctx);
        }
        if failed && voting && !self.told_failed {
            self.told_failed = true;
            self.tell(Progress::JobFailed { job });
        }
        if held_following && !failed && self.graph.holds_released() {
            self.tell(Progress::FollowingReleased);
        }
        if failed && voting && self.spec.fail_fast {
            self.cancel_the_rest(now);
        }
        if !failed {
            let unchosen = self.graph.skip_unchosen_children(&uuid, now);
            self.record_unrun(&unchosen, BuildResult::Skipped, now);
        }
        self.advance(ctx);
    }

    /// Fail-fast: every job without a result is CANCELED now; running builds
    /// are stopped and retired, so the buildset is complete at once.
    fn cancel_the_rest(&mut self, now: DateTime<Utc>) {
        tracing::info!(item = %self.id, "a voting job failed; fail-fast cancels the rest");
        self.retire_running();
        let unrun = self.graph.cancel_unfinished(now);
        self.record_unrun(&unrun, BuildResult::Canceled, now);
    }

    fn store_end(&mut self, uuid: &str, outcome: &BuildOutcome, held: bool) {
        self.records.push(StoreRecord::BuildFinished {
            uuid: uuid.to_string(),
            result: outcome.result,
            end_time: Utc::now(),
            log_url: outcome.log_url.clone(),
            error_detail: outcome.error_detail.clone(),
            held,
        });
    }

    /// What the item tells its change, as Zuul lays a report out: `message`,
    /// the buildset's page, and a line per job of the current buildset.
    fn report_text(&self, message: &str) -> String {
        let jobs: Vec<JobLine> = self
            .graph
            .slots
            .iter()
            .map(|slot| JobLine {
                name: slot.job.name.clone(),
                log_url: slot.outcome.as_ref().and_then(|o| o.log_url.clone()),
                result: slot.outcome.as_ref().map(|o| o.result),
                duration: slot.start_time.zip(slot.end_time).map(|(s, e)| e - s),
                voting: slot.job.voting,
                error: slot.outcome.as_ref().and_then(|o| o.error_detail.clone()),
            })
            .collect();
        let ports = &self.ports;
        let url = buildset_url(&ports.web_root, &self.spec.tenant, &self.buildset_uuid);
        report_text(message, &url, &jobs)
    }

    /// Once finishing and no build is left running, stores the buildset's end,
    /// then tells the pipeline and stops.
    pub(super) fn finish_when_quiet(&mut self, ctx: &mut Context<Self>) {
        let Some((result, message)) = self.finishing.clone() else {
            return;
        };
        if self.completed || !self.running.is_empty() || !self.retired.is_empty() {
            return;
        }
        self.completed = true;
        self.records.push(StoreRecord::BuildsetFinished {
            uuid: self.buildset_uuid.clone(),
            result,
            message: self.report_text(&message),
            end_time: Utc::now(),
        });
        let completed = super::ItemCompleted {
            id: self.id.clone(),
            result,
        };
        // Tell the pipeline only once the history holds the result, so a client
        // that sees the item leave the status finds its buildset in the store.
        ctx.wait(
            self.records
                .flushed()
                .into_actor(self)
                .map(move |_, item, ctx| {
                    item.pipeline.completed.do_send(completed);
                    ctx.stop();
                }),
        );
    }
}

impl Handler<BuildEvent> for QueueItem {
    type Result = ();

    fn handle(&mut self, event: BuildEvent, ctx: &mut Context<Self>) {
        match event {
            BuildEvent::Started { uuid, start_time } => {
                if let Some(slot) = self.graph.slot_mut(&uuid) {
                    slot.start_time = Some(start_time);
                }
            }
            BuildEvent::Completed { uuid, outcome, .. } => self.completed(uuid, outcome, ctx),
        }
    }
}

/// The report of config errors: what they mean, then one per paragraph.
fn config_error_text(errors: &[ConfigError]) -> String {
    let listed: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    format!(
        "This change's configuration has errors; it cannot merge until they are fixed.\n\n{}",
        listed.join("\n\n")
    )
}
