//! The Pipeline actor: a pipeline of one tenant, its items and manager rules.

use std::sync::Arc;

use actix::prelude::*;
use futures_util::future::join_all;
use portcullis_config::pipeline::Manager;
use portcullis_config::Layout;

use crate::event::{ItemRef, TriggerEvent};
use crate::port::Ports;
use crate::queue_item::{GetItemStatus, ItemCompleted, ItemSpec, QueueItem};
use crate::status::{ChangeQueueStatus, PipelineStatus};

/// Enqueues an item for a trigger event that matched this pipeline. Sent by the Tenant.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct EnqueueEvent(pub TriggerEvent);

/// Replaces the layout the pipeline freezes new items with. Sent by the Tenant on reconfiguration.
#[derive(Message)]
#[rtype(result = "()")]
pub struct UpdateLayout(pub Arc<Layout>);

/// Asks for the pipeline's status snapshot.
#[derive(Debug, Message)]
#[rtype(result = "PipelineStatus")]
pub struct GetPipelineStatus;

/// Asks how many items the pipeline holds.
#[derive(Debug, Message)]
#[rtype(result = "usize")]
pub struct CountItems;

struct Entry {
    id: String,
    project: String,
    addr: Addr<QueueItem>,
}

/// One pipeline of a tenant.
pub struct Pipeline {
    tenant: String,
    name: String,
    layout: Arc<Layout>,
    ports: Ports,
    /// Items in enqueue order; each item actor is owned here.
    items: Vec<Entry>,
}

impl Pipeline {
    /// The pipeline `name` of `layout`.
    pub fn new(tenant: String, name: String, layout: Arc<Layout>, ports: Ports) -> Self {
        Pipeline {
            tenant,
            name,
            layout,
            ports,
            items: Vec::new(),
        }
    }

    fn manager_name(&self) -> &'static str {
        self.layout
            .pipeline(&self.name)
            .map_or(Manager::Independent.name(), |p| p.manager.name())
    }
}

impl Actor for Pipeline {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Context<Self>) {
        tracing::info!(tenant = %self.tenant, pipeline = %self.name, "pipeline stopped");
    }
}

impl Handler<EnqueueEvent> for Pipeline {
    type Result = ();

    fn handle(&mut self, EnqueueEvent(event): EnqueueEvent, ctx: &mut Context<Self>) {
        let item = ItemRef::from_event(&event);
        let branch = item.branch.as_deref().unwrap_or_default();
        let jobs = match self.layout.job_graph(&self.name, &item.project, branch) {
            Ok(jobs) => jobs,
            Err(err) => {
                tracing::warn!(
                    tenant = %self.tenant, pipeline = %self.name, project = %item.project,
                    %err, "cannot freeze the job graph; item not enqueued"
                );
                return;
            }
        };
        if jobs.is_empty() {
            tracing::debug!(pipeline = %self.name, project = %item.project, "no jobs");
            return;
        }
        let spec = ItemSpec {
            tenant: self.tenant.clone(),
            pipeline: self.name.clone(),
            event,
            jobs,
        };
        let queue_item = QueueItem::new(spec, self.ports.clone(), ctx.address().recipient());
        let id = queue_item.id().to_string();
        self.items.push(Entry {
            id,
            project: item.project,
            addr: queue_item.start(),
        });
    }
}

impl Handler<ItemCompleted> for Pipeline {
    type Result = ();

    fn handle(&mut self, done: ItemCompleted, _: &mut Context<Self>) {
        tracing::info!(pipeline = %self.name, item = %done.id, result = %done.result, "item reported");
        self.items.retain(|e| e.id != done.id);
    }
}

impl Handler<UpdateLayout> for Pipeline {
    type Result = ();

    fn handle(&mut self, UpdateLayout(layout): UpdateLayout, _: &mut Context<Self>) {
        self.layout = layout;
    }
}

impl Handler<CountItems> for Pipeline {
    type Result = usize;

    fn handle(&mut self, _: CountItems, _: &mut Context<Self>) -> usize {
        self.items.len()
    }
}

impl Handler<GetPipelineStatus> for Pipeline {
    type Result = ResponseFuture<PipelineStatus>;

    fn handle(&mut self, _: GetPipelineStatus, _: &mut Context<Self>) -> Self::Result {
        let pipeline = self.layout.pipeline(&self.name);
        let mut status = PipelineStatus {
            name: self.name.clone(),
            description: pipeline.and_then(|p| p.description.clone()),
            manager: self.manager_name().to_string(),
            trigger_events: 0,
            change_queues: Vec::new(),
        };
        let asks: Vec<_> = self
            .items
            .iter()
            .map(|e| (e.project.clone(), e.addr.send(GetItemStatus)))
            .collect();
        Box::pin(async move {
            let projects: Vec<String> = asks.iter().map(|(p, _)| p.clone()).collect();
            let answers = join_all(asks.into_iter().map(|(_, ask)| ask)).await;
            // An independent pipeline gives every item a queue of its own.
            for (project, answer) in projects.into_iter().zip(answers) {
                if let Ok(item) = answer {
                    status.change_queues.push(ChangeQueueStatus {
                        name: project,
                        window: 0,
                        heads: vec![vec![item]],
                    });
                }
            }
            status
        })
    }
}
