//! Admin commands on a pipeline's queues, and the dequeue of changes that got
//! a new patchset or were abandoned.

use actix::prelude::*;

use super::report::NEEDED_CHANGE_FAILED;
use super::Pipeline;
use crate::admin::{parse_change, AdminError};
use crate::event::ItemRef;
use crate::result::BuildResult;

/// Dequeues the items of a change (any patchset when none is given) or a ref
/// of a project. Sent by the Tenant for an admin's dequeue, and for a
/// pipeline that supercedes this one.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), AdminError>")]
pub struct DequeueItems {
    /// Project name.
    pub project: String,
    /// `N,P` or `N`.
    pub change: Option<String>,
    /// Ref name.
    pub r#ref: Option<String>,
    /// Only the items reported on, leaving copies carried ahead of the
    /// changes that need them (a superseded pipeline keeps testing those).
    pub live_only: bool,
}

/// Moves the named changes (`N,P`) to the head of their queues in order.
/// Sent by the Tenant for an admin's promote.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), AdminError>")]
pub struct PromoteItems(pub Vec<String>);

/// A trigger event about a change reached the tenant: items of an older
/// patchset leave (when the pipeline says so), and every patchset of an
/// abandoned change. Sent by the Tenant to every pipeline, before it routes the event.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct DequeueStaleChange(pub ItemRef, pub bool);

/// Whether `item` is the change `number` (at `patchset`, when given).
fn is_change(item: &ItemRef, number: u64, patchset: Option<&str>) -> bool {
    item.change
        .as_ref()
        .is_some_and(|c| c.number == number && patchset.is_none_or(|p| p == c.patchset))
}

impl Pipeline {
    /// Dequeues the entries of `item`'s change at another patchset (or at any,
    /// when `abandoned`); returns how many left.
    pub(super) fn dequeue_stale(&mut self, item: &ItemRef, abandoned: bool) -> usize {
        let Some(change) = &item.change else { return 0 };
        let on_new_patchset = self
            .layout
            .pipeline(&self.name)
            .is_some_and(|p| p.dequeue_on_new_patchset);
        if !abandoned && !on_new_patchset {
            return 0;
        }
        let stale: Vec<String> = self
            .entries()
            .filter(|e| e.item.connection == item.connection && e.item.project == item.project)
            .filter(|e| is_change(&e.item, change.number, None))
            .filter(|e| abandoned || !is_change(&e.item, change.number, Some(&change.patchset)))
            .map(|e| e.id.clone())
            .collect();
        for id in &stale {
            self.dequeue(id);
        }
        stale.len()
    }

    /// Takes an item out without a result; what needed it fails (and, for a
    /// carried change, the change that carried it).
    fn dequeue(&mut self, id: &str) {
        if let Some((q, e)) = self.locate(id) {
            let queue = &mut self.queues[q];
            if !queue.entries[e].live {
                let live = queue.entries.iter_mut().filter(|e| e.live);
                for entry in live {
                    entry
                        .blocked
                        .get_or_insert_with(|| NEEDED_CHANGE_FAILED.into());
                }
            }
        }
        let message = self
            .layout
            .pipeline(&self.name)
            .map(|p| p.messages.dequeue.clone());
        self.finish(id, BuildResult::Dequeued, message.unwrap_or_default());
        self.settle_dependents(id, false);
    }
}

impl Handler<DequeueStaleChange> for Pipeline {
    type Result = ();

    fn handle(
        &mut self,
        DequeueStaleChange(item, abandoned): DequeueStaleChange,
        ctx: &mut Context<Self>,
    ) {
        if self.dequeue_stale(&item, abandoned) > 0 {
            self.process(ctx);
        }
    }
}

impl Handler<DequeueItems> for Pipeline {
    type Result = Result<(), AdminError>;

    fn handle(&mut self, request: DequeueItems, ctx: &mut Context<Self>) -> Self::Result {
        let change = request.change.as_deref().map(parse_change).transpose()?;
        let matching: Vec<String> = self
            .entries()
            .filter(|e| e.item.project == request.project)
            .filter(|e| e.live || !request.live_only)
            .filter(|e| match (&change, &request.r#ref) {
                (Some((number, patchset)), _) => is_change(&e.item, *number, *patchset),
                (None, Some(r)) => e.item.ref_name == *r && e.item.change.is_none(),
                (None, None) => false,
            })
            .map(|e| e.id.clone())
            .collect();
        if matching.is_empty() {
            let what = request.change.or(request.r#ref).unwrap_or_default();
            return Err(AdminError::UnknownChange(format!(
                "{} {what}",
                request.project
            )));
        }
        for id in &matching {
            self.dequeue(id);
        }
        self.process(ctx);
        Ok(())
    }
}

impl Handler<PromoteItems> for Pipeline {
    type Result = Result<(), AdminError>;

    fn handle(
        &mut self,
        PromoteItems(changes): PromoteItems,
        ctx: &mut Context<Self>,
    ) -> Self::Result {
        let mut promoted = Vec::new();
        for change in &changes {
            let (number, patchset) = parse_change(change)?;
            let found = self
                .entries()
                .find(|e| is_change(&e.item, number, patchset));
            let found = found.ok_or_else(|| AdminError::UnknownChange(change.clone()))?;
            promoted.push(found.id.clone());
        }
        for queue in &mut self.queues {
            // Items already reporting stay first: their reports are out.
            let (mut front, mut rest): (Vec<_>, Vec<_>) =
                queue.entries.drain(..).partition(|e| e.reporting);
            for id in &promoted {
                if let Some(at) = rest.iter().position(|e| e.id == *id) {
                    front.push(rest.remove(at));
                }
            }
            front.append(&mut rest);
            queue.entries = front;
        }
        self.process(ctx);
        Ok(())
    }
}
