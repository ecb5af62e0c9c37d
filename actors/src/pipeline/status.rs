//! The pipeline's part of Zuul's status: its queues, their windows, and where
//! each item stands (ahead, behind, active, failing).

use actix::prelude::*;
use futures_util::future::{self, join_all};
use futures_util::FutureExt;

use super::change_queue::QueueEntry;
use super::Pipeline;
use crate::queue_item::GetItemStatus;
use crate::status::{ChangeQueueStatus, ItemStatus, PipelineStatus};

/// Asks for the pipeline's status snapshot. Sent by the Tenant.
#[derive(Debug, Message)]
#[rtype(result = "PipelineStatus")]
pub struct GetPipelineStatus;

/// What the pipeline knows of an item's place, to fill into its status.
struct Place {
    active: bool,
    item_ahead: Option<String>,
    items_behind: Vec<String>,
    failing_reasons: Vec<String>,
}

fn place(entries: &[QueueEntry], index: usize, window: u32) -> Place {
    let entry = &entries[index];
    let ahead_of = |e: &QueueEntry| e.base.as_ref().and_then(|b| b.last().cloned());
    Place {
        active: window == 0 || index < window as usize,
        item_ahead: ahead_of(entry),
        items_behind: entries
            .iter()
            .filter(|e| ahead_of(e).as_deref() == Some(entry.id.as_str()))
            .map(|e| e.id.clone())
            .collect(),
        failing_reasons: entry.failing.clone(),
    }
}

/// Chains items into heads: an item with nothing ahead starts a new head.
fn heads(items: Vec<ItemStatus>) -> Vec<Vec<ItemStatus>> {
    let mut heads: Vec<Vec<ItemStatus>> = Vec::new();
    for item in items {
        match (&item.item_ahead, heads.last_mut()) {
            (Some(_), Some(head)) => head.push(item),
            _ => heads.push(vec![item]),
        }
    }
    heads
}

impl Handler<GetPipelineStatus> for Pipeline {
    type Result = ResponseFuture<PipelineStatus>;

    fn handle(&mut self, _: GetPipelineStatus, _: &mut Context<Self>) -> Self::Result {
        let pipeline = self.layout.pipeline(&self.name);
        let mut status = PipelineStatus {
            name: self.name.clone(),
            description: pipeline.and_then(|p| p.description.clone()),
            manager: self.manager().name().to_string(),
            trigger_events: 0,
            change_queues: Vec::new(),
        };
        let mut queues = Vec::new();
        for queue in self.queues.iter().filter(|q| !q.entries.is_empty()) {
            let asks: Vec<_> = (0..queue.entries.len())
                .filter_map(|i| {
                    let entry = &queue.entries[i];
                    let ask = match self.items.get(&entry.id) {
                        Some(item) => item.send(GetItemStatus).map(Result::ok).boxed(),
                        None if !entry.live => {
                            let status = ItemStatus::non_live(&entry.id, &entry.item);
                            future::ready(Some(status)).boxed()
                        }
                        None => return None,
                    };
                    Some((place(&queue.entries, i, queue.window), ask))
                })
                .collect();
            queues.push((queue.name.clone(), queue.window, asks));
        }
        // Items that reported stay visible until their buildset is stored.
        let leaving: Vec<_> = self
            .leaving
            .iter()
            .filter_map(|(id, item)| {
                Some((
                    item.project.clone(),
                    self.items.get(id)?.send(GetItemStatus),
                ))
            })
            .collect();
        Box::pin(async move {
            for (name, window, asks) in queues {
                let (places, asks): (Vec<_>, Vec<_>) = asks.into_iter().unzip();
                let answers = join_all(asks).await;
                let items = places
                    .into_iter()
                    .zip(answers)
                    .filter_map(|(place, answer)| {
                        let mut item = answer?;
                        item.active = place.active && item.live;
                        item.item_ahead = place.item_ahead;
                        item.items_behind = place.items_behind;
                        item.failing_reasons = place.failing_reasons;
                        Some(item)
                    });
                let heads = heads(items.collect());
                status.change_queues.push(ChangeQueueStatus {
                    name,
                    window: window as usize,
                    heads,
                });
            }
            for (name, ask) in leaving {
                if let Ok(item) = ask.await {
                    let heads = vec![vec![item]];
                    status.change_queues.push(ChangeQueueStatus {
                        name,
                        window: 0,
                        heads,
                    });
                }
            }
            status
        })
    }
}
