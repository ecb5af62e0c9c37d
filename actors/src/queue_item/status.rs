//! The item's part of the status: its refs and jobs (the pipeline adds where
//! the item stands in its queue).

use chrono::{DateTime, Utc};

use super::job_graph::JobSlot;
use super::QueueItem;
use crate::result::BuildResult;
use crate::status::{ItemStatus, JobStatus, RefStatus};

impl QueueItem {
    pub(super) fn status(&self) -> ItemStatus {
        let now = Utc::now();
        let jobs = self
            .graph
            .slots
            .iter()
            .map(|s| self.job_status(s, now))
            .collect();
        ItemStatus {
            id: self.id.clone(),
            refs: vec![RefStatus::of(&self.item)],
            active: true,
            live: true,
            item_ahead: None,
            items_behind: Vec::new(),
            failing_reasons: Vec::new(),
            zuul_ref: format!("refs/portcullis/state/{}", self.id),
            enqueue_time: self.enqueue_time.timestamp_millis(),
            remaining_time: None,
            jobs,
        }
    }

    fn job_status(&self, slot: &JobSlot, now: DateTime<Utc>) -> JobStatus {
        // Jobs that never ran (skipped, canceled before they started) have no start.
        let started = slot.start_time.is_some();
        let elapsed = slot
            .start_time
            .filter(|_| started)
            .map(|start| (slot.end_time.unwrap_or(now) - start).num_milliseconds());
        let seconds = |t: DateTime<Utc>| t.timestamp_millis() as f64 / 1000.0;
        JobStatus {
            name: slot.job.name.clone(),
            dependencies: slot
                .job
                .dependencies
                .iter()
                .map(|d| d.name.clone())
                .collect(),
            uuid: started.then(|| slot.uuid.clone()),
            result: slot.outcome.as_ref().map(|o| o.result.to_string()),
            voting: slot.job.voting,
            elapsed_time: elapsed,
            remaining_time: slot.outcome.as_ref().map(|_| 0),
            url: started.then(|| format!("stream/{}?logfile=console.log", slot.uuid)),
            report_url: slot.outcome.as_ref().and_then(|o| o.log_url.clone()),
            start_time: slot.start_time.filter(|_| started).map(seconds),
            end_time: slot.end_time.filter(|_| started).map(seconds),
            estimated_time: None,
            pipeline: Some(self.spec.pipeline.clone()),
            canceled: Some(matches!(
                slot.outcome.as_ref().map(|o| o.result),
                Some(BuildResult::Canceled)
            )),
            queued: !started && slot.outcome.is_none(),
            waiting_status: (!slot.started && slot.outcome.is_none())
                .then(|| "waiting on dependencies or the merger".to_string()),
            tries: 1,
        }
    }
}
