//! How an item runs its buildset: the merge, the builds in dependency order,
//! resets, and its end once every build stopped.

use actix::prelude::*;
use chrono::Utc;

use super::{Progress, QueueItem};
use crate::build::{Build, BuildEvent, CancelBuild};
use crate::change::{MergeError, MergeRequest, MergeState};
use crate::port::LoadError;
use portcullis_config::{ConfigError, Layout};

use super::JobGraph;
use crate::port::{BuildOutcome, BuildRequest, StoreRecord};
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
        let merging = self.ports.merger.merge(request);
        ctx.spawn(merging.into_actor(self).map(move |merged, item, ctx| {
            // A reset or the end may have come while the merger worked.
            if item.generation != generation || item.finishing.is_some() {
                return;
            }
            match merged {
                Ok(state) => item.load_speculative_layout(state, ctx),
                Err(err) => {
                    tracing::info!(item = %item.id, %err, "no speculative state");
                    let conflict = matches!(err, MergeError::Conflict { .. });
                    item.tell(Progress::MergeFailed {
                        conflict,
                        detail: err.to_string(),
                    });
                }
            }
        }));
    }

    /// Asks for the layout the state's config changes make; the jobs are frozen
    /// again from it when there is one, and the buildset goes on.
    fn load_speculative_layout(&mut self, state: MergeState, ctx: &mut Context<Self>) {
        let generation = self.generation;
        let loading = self.ports.loader.speculative(&self.spec.tenant, &state);
        ctx.spawn(loading.into_actor(self).map(move |loaded, item, ctx| {
            if item.generation != generation || item.finishing.is_some() {
                return;
            }
            let frozen = match loaded {
                Ok(None) => Ok(None),
                Ok(Some(layout)) => item.freeze_on(&layout).map(Some),
                Err(LoadError::Config(errors)) => Err(config_error_text(&errors)),
                Err(LoadError::Repo(detail)) => {
                    let detail = format!("cannot read the state's config: {detail}");
                    let progress = Progress::MergeFailed {
                        conflict: false,
                        detail,
                    };
                    return item.tell(progress);
                }
            };
            match frozen {
                Ok(jobs) => {
                    if let Some(jobs) = jobs {
                        item.graph = JobGraph::new(&jobs);
                        item.spec.jobs = jobs;
                    }
                    item.state = Some(state);
                    item.advance(ctx);
                }
                Err(message) => item.tell(Progress::ConfigError { message }),
            }
        }));
    }

    /// The item's jobs frozen from `layout`.
    fn freeze_on(&self, layout: &Layout) -> Result<Vec<portcullis_config::FrozenJob>, String> {
        let branch = self.item.branch.as_deref().unwrap_or_default();
        layout
            .job_graph(&self.spec.pipeline, &self.item.project, branch)
            .map_err(|err| config_error_text(&[err]))
    }

    /// Skips the children of failed jobs, starts every job now ready, and tells
    /// the pipeline when every job has a result.
    pub(super) fn advance(&mut self, ctx: &mut Context<Self>) {
        let Some(state) = self.state.clone() else {
            return;
        };
        let now = Utc::now();
        for index in self.graph.skip_children_of_failures(now) {
            let slot = &self.graph.slots[index];
            let started = self.build_started(index, now);
            self.records.push(started);
            self.records.push(StoreRecord::BuildFinished {
                uuid: slot.uuid.clone(),
                result: BuildResult::Skipped,
                end_time: now,
                log_url: None,
                error_detail: None,
                held: false,
            });
        }
        let me = ctx.address().recipient();
        for index in self.graph.ready() {
            let parent_data = self.graph.parent_data(index);
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
                hold: slot.hold.is_some(),
            };
            let uuid = slot.uuid.clone();
            // Stored now, not when the build says it began, so a build retired
            // before its first word still has a start to its end.
            let started = self.build_started(index, now);
            self.records.push(started);
            let build = Build::new(request, self.ports.clone(), me.clone()).start();
            self.running.insert(uuid, build);
        }
        if self.graph.all_done() {
            self.tell(Progress::JobsCompleted {
                result: self.graph.result(),
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
        slot.end_time = Some(Utc::now());
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
        self.advance(ctx);
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
