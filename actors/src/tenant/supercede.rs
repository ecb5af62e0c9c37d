//! Pipeline `supercedes`: once a pipeline takes a change in, the change
//! leaves the pipelines it supercedes, as in Zuul (a gate that supercedes
//! check spends no test resources on near-duplicate check builds).

use actix::prelude::*;

use super::Tenant;
use crate::event::TriggerEvent;
use crate::pipeline::{DequeueItems, EnqueueEvent, GetPipelineStatus, Pipeline};
use crate::status::PipelineStatus;

impl Tenant {
    /// Hands `event` to the pipeline `name` at `addr`; when that pipeline
    /// supercedes others and takes the event's change in, the change leaves them.
    pub(super) fn enqueue_in(&self, name: &str, addr: &Addr<Pipeline>, event: TriggerEvent) {
        let superceded = self.superceded_by(name);
        let change = event.change.as_ref().filter(|_| !superceded.is_empty());
        let Some(change) = change else {
            addr.do_send(EnqueueEvent(event));
            return;
        };
        let id = format!("{},{}", change.number, change.patchset);
        let project = event.project.clone();
        addr.do_send(EnqueueEvent(event));
        // Asked right after the enqueue, in the same mailbox: the answer tells
        // whether the pipeline took the change in (it has no jobs, or needs
        // what another queue holds, and it does not).
        let status = addr.send(GetPipelineStatus);
        actix::spawn(async move {
            let Ok(status) = status.await else { return };
            if !holds(&status, &project, &id) {
                return;
            }
            for other in superceded {
                let dequeue = DequeueItems {
                    project: project.clone(),
                    change: Some(id.clone()),
                    r#ref: None,
                    live_only: true,
                };
                // Most of the time the change is not there: nothing to remove.
                let _ = other.send(dequeue).await;
            }
        });
    }

    /// The other pipelines the pipeline `name` supercedes, as the layout lists them.
    fn superceded_by(&self, name: &str) -> Vec<Addr<Pipeline>> {
        let layout = self.layout.as_ref();
        let Some(pipeline) = layout.and_then(|l| l.pipeline(name)) else {
            return Vec::new();
        };
        let listed = pipeline.supercedes.iter().filter(|other| *other != name);
        let found = listed.filter_map(|other| self.pipelines.iter().find(|(n, _)| n == other));
        found.map(|(_, addr)| addr.clone()).collect()
    }
}

/// Whether a pipeline's status shows the change `id` (`N,P`) of `project` as
/// an item of its own, not only carried ahead of a change that needs it.
fn holds(status: &PipelineStatus, project: &str, id: &str) -> bool {
    let queues = status.change_queues.iter();
    let mut items = queues.flat_map(|q| q.heads.iter().flatten());
    items.any(|item| item.live && item.refs.iter().any(|r| r.id == id && r.project == project))
}
