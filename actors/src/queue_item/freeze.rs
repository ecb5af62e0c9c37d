//! Freezing an item's job graph with its changed files, as Zuul does once the
//! merger has answered: jobs whose `files` match none of them, or whose
//! `irrelevant-files` match all of them, drop out (unless a job that runs
//! needs them). The merger is asked for them once, right after the first
//! speculative state (or alone, for a ref tested at its own revision), and
//! only when some job has file matchers or the graph could not be frozen
//! without them.

use std::sync::Arc;

use actix::prelude::*;
use portcullis_config::Layout;

use super::job_graph::JobGraph;
use super::{ItemSpec, Progress, QueueItem};
use crate::autohold::Autoholds;
use crate::change::MergeState;
use crate::event::TriggerEvent;

impl ItemSpec {
    /// The spec of an item for `event` in `pipeline`, its jobs frozen without the
    /// changed files; `None` when the project runs no jobs there (no item). A
    /// graph that cannot be frozen (a hard dependency on a job not in it, an
    /// abstract job, ...) still makes an item, which reports CONFIG_ERROR
    /// unless the changed files leave the job at fault out.
    pub fn at_enqueue(
        tenant: String,
        pipeline: &str,
        layout: Arc<Layout>,
        event: TriggerEvent,
        autoholds: Autoholds,
    ) -> Option<ItemSpec> {
        let project = &event.project;
        let branch = event
            .ref_name
            .strip_prefix("refs/heads/")
            .unwrap_or_default();
        let jobs = match layout.job_graph(pipeline, project, branch) {
            Ok(jobs) if jobs.is_empty() => {
                tracing::debug!(%pipeline, %project, "no jobs");
                return None;
            }
            Ok(jobs) => Ok(jobs),
            Err(err) => {
                tracing::info!(%tenant, %pipeline, %project, %err, "the job graph cannot be frozen");
                Err(unfreezable(&err))
            }
        };
        Some(ItemSpec {
            fail_fast: layout.fail_fast(pipeline, project, branch),
            tenant,
            pipeline: pipeline.to_string(),
            event,
            layout,
            jobs,
            autoholds,
        })
    }

    /// True when a job of the item looks at changed files.
    fn has_file_matchers(&self) -> bool {
        let jobs = self.jobs.as_deref().unwrap_or_default();
        jobs.iter()
            .any(|j| !j.files.0.is_empty() || !j.irrelevant_files.0.is_empty())
    }
}

/// The report text of a job graph that cannot be frozen, naming where and why.
fn unfreezable(err: &portcullis_config::ConfigError) -> String {
    format!("The job graph cannot be frozen: {err}")
}

impl QueueItem {
    /// True while the graph waits for the changed files to be frozen. A graph
    /// that could not be frozen without them waits too: the job at fault may be
    /// one its file matchers leave out, as Zuul only freezes with the files.
    pub(super) fn needs_files(&self) -> bool {
        !self.frozen && (self.spec.jobs.is_err() || self.spec.has_file_matchers())
    }

    /// Freezes the graph with `files` the first time they are known; false
    /// (and the pipeline told) when no job is left to run or it cannot be frozen.
    pub(super) fn freeze(&mut self, files: Option<&[String]>) -> bool {
        let needed = self.needs_files();
        self.frozen = true;
        if !needed {
            return true;
        }
        // Not knowing the files, the freeze at enqueue (every listed job) stands.
        let files = match (files, &self.spec.jobs) {
            (Some(files), _) => files,
            (None, Ok(_)) => return true,
            (None, Err(message)) => {
                let message = message.clone();
                self.tell(Progress::ConfigError { message });
                return false;
            }
        };
        let spec = &self.spec;
        let branch = self.item.branch.as_deref().unwrap_or_default();
        let frozen = spec.layout.job_graph_for_files(
            &spec.pipeline,
            &self.item.project,
            branch,
            Some(files),
        );
        match frozen {
            Ok(jobs) if jobs.is_empty() => {
                tracing::info!(item = %self.id, files = files.len(), "no job matches the changed files");
                self.graph = JobGraph::new(&jobs);
                self.tell(Progress::NoJobs);
                false
            }
            Ok(jobs) => {
                self.graph = JobGraph::new(&jobs);
                self.spec.jobs = Ok(jobs);
                true
            }
            // Kept for the starts after a reset.
            Err(err) => {
                let message = unfreezable(&err);
                self.spec.jobs = Err(message.clone());
                self.tell(Progress::ConfigError { message });
                false
            }
        }
    }

    /// Asks the merger what the item's ref update changed, then freezes and
    /// runs the jobs at the item's own revision.
    pub(super) fn ask_ref_files(&mut self, ctx: &mut Context<Self>) {
        let generation = self.generation;
        let asking = self.ports.merger.changed_files(&self.item);
        ctx.spawn(asking.into_actor(self).map(move |files, item, ctx| {
            // A reset or the end may have come while the merger worked.
            if item.generation != generation || item.finishing.is_some() {
                return;
            }
            if item.freeze(files.as_deref()) {
                item.state = Some(MergeState::default());
                item.advance(ctx);
            }
        }));
    }
}
