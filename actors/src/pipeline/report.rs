//! Reporting: an item that may report has its reports delivered through the
//! pipeline's reporters for its result, one after the other; then it leaves
//! its queue. A success whose delivery fails (the merge did not happen) is a
//! MERGE_FAILURE, and the items behind it are reset by the next walk.

use actix::prelude::*;
use portcullis_config::pipeline::Reporter as ReporterConfig;

use super::{manager, Pipeline};
use crate::change::{Report, ReportError};
use crate::result::BuildResult;

/// What a change is told when a change it needs left without merging.
pub(super) const NEEDED_CHANGE_FAILED: &str =
    "This change depends on a change that failed to merge.";

impl Pipeline {
    /// The reporters of an outcome, as the pipeline names them.
    fn reporters_for(&self, result: BuildResult) -> Vec<ReporterConfig> {
        let Some(pipeline) = self.layout.pipeline(&self.name) else {
            return Vec::new();
        };
        match result {
            BuildResult::Success => pipeline.success.clone(),
            BuildResult::MergeConflict => pipeline.merge_conflict_reporters().to_vec(),
            BuildResult::ConfigError => pipeline.config_error_reporters().to_vec(),
            BuildResult::NoJobs => pipeline.reporters.no_jobs.clone(),
            BuildResult::Dequeued => pipeline.reporters.dequeue.clone(),
            _ => pipeline.failure.clone(),
        }
    }

    /// Whether a success report merges the change (a reporter says `merge: true`).
    fn lands_changes(&self) -> bool {
        let merges = |r: &ReporterConfig| r.settings.get("merge") == Some(&serde_json::json!(true));
        self.reporters_for(BuildResult::Success).iter().any(merges)
    }

    /// The reports of `result` for the item `id`, in the reporters' order.
    fn reports(&self, id: &str, result: BuildResult, message: &str) -> Vec<Report> {
        let Some((q, e)) = self.locate(id) else {
            return Vec::new();
        };
        let entry = &self.queues[q].entries[e];
        let reporters = self.reporters_for(result);
        let reports = reporters.into_iter().map(|reporter| Report {
            connection: reporter.connection,
            settings: reporter.settings,
            item: entry.item.clone(),
            mode: entry.mode,
            result,
            message: message.to_string(),
        });
        reports.collect()
    }

    /// Delivers the reports of the item `id`; see [`Pipeline::reported`].
    pub(super) fn report(&mut self, id: &str, ctx: &mut Context<Self>) {
        let Some((q, e)) = self.locate(id) else {
            return;
        };
        let Some((result, message)) = self.queues[q].entries[e].outcome.clone() else {
            return;
        };
        let reports = self.reports(id, result, &message);
        let reporter = self.ports.reporter.clone();
        let delivery = async move {
            for report in reports {
                reporter.report(report).await?;
            }
            Ok::<(), ReportError>(())
        };
        let id = id.to_string();
        ctx.spawn(
            delivery
                .into_actor(self)
                .map(move |delivered, pipeline, ctx| {
                    pipeline.reported(&id, delivered, ctx);
                }),
        );
    }

    /// The item's reports were delivered (or one failed): it leaves its queue,
    /// the window follows its result, and the queues are walked again.
    fn reported(&mut self, id: &str, delivered: Result<(), ReportError>, ctx: &mut Context<Self>) {
        // It may have been dequeued while its reports were out.
        let Some((q, e)) = self.locate(id) else {
            return;
        };
        let Some((mut result, mut message)) = self.queues[q].entries[e].outcome.clone() else {
            return;
        };
        if let Err(err) = delivered {
            tracing::warn!(pipeline = %self.name, item = %id, %err, "report failed");
            if result == BuildResult::Success {
                result = BuildResult::MergeFailure;
                message = format!("This change was not merged: {err}");
            }
        }
        let merged = result == BuildResult::Success;
        if merged && self.lands_changes() {
            let change = self.queues[q].entries[e].item.change.as_ref();
            let project = &self.queues[q].entries[e].item.project;
            if let Some(change) = change {
                self.changes.merged(project, change.number);
            }
        }
        if manager::rules(self.manager()).adaptive_window {
            let queue = &mut self.queues[q];
            match result {
                BuildResult::Success => queue.increase_window(),
                // Zuul shrinks for failed tests, not for a failed merge or an
                // item that had nothing to test.
                BuildResult::MergeFailure | BuildResult::NoJobs => {}
                _ => queue.decrease_window(),
            }
        }
        self.finish(id, result, message);
        self.settle_dependents(id, merged);
        self.process(ctx);
    }

    /// After `id` left: items built on it keep their state if it merged; items
    /// that need it fail if it did not.
    pub(super) fn settle_dependents(&mut self, id: &str, merged: bool) {
        for queue in &mut self.queues {
            for entry in &mut queue.entries {
                if merged {
                    if let Some(base) = &mut entry.base {
                        base.retain(|ahead| ahead != id);
                    }
                    entry.needs.retain(|needed| needed != id);
                } else if entry.needs.iter().any(|needed| needed == id) {
                    entry.needs.retain(|needed| needed != id);
                    entry
                        .blocked
                        .get_or_insert_with(|| NEEDED_CHANGE_FAILED.into());
                }
            }
        }
    }
}
