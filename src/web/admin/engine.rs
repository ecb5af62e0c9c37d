//! [`AdminEngine`]: the engine's admin commands as the admin API needs them,
//! a trait so that the handlers can be tested against a fake engine.
//!
//! The request and answer types are the engine's own; the running engine's
//! [`EngineHandle`] implements the trait.

use futures_util::future::BoxFuture;
pub use portcullis_actors::{
    AdminError, AutoholdInfo, AutoholdRequest, DequeueRequest, EngineHandle, EnqueueRequest,
    PromoteRequest,
};

/// What the engine answers.
pub type Answer<T> = BoxFuture<'static, Result<T, AdminError>>;

/// The engine's admin commands.
pub trait AdminEngine: Send + Sync {
    /// Enqueues a change or ref.
    fn enqueue(&self, request: EnqueueRequest) -> Answer<()>;
    /// Dequeues a change or ref.
    fn dequeue(&self, request: DequeueRequest) -> Answer<()>;
    /// Promotes changes to the head of their queues.
    fn promote(&self, request: PromoteRequest) -> Answer<()>;
    /// Adds an autohold request; answers its id.
    fn autohold(&self, request: AutoholdRequest) -> Answer<String>;
    /// The autohold requests of a tenant.
    fn autohold_list(&self, tenant: String) -> Answer<Vec<AutoholdInfo>>;
    /// One autohold request by id.
    fn autohold_get(&self, id: String) -> Answer<Option<AutoholdInfo>>;
    /// Deletes an autohold request; false if there was none.
    fn autohold_delete(&self, id: String) -> Answer<bool>;
}

impl AdminEngine for EngineHandle {
    fn enqueue(&self, request: EnqueueRequest) -> Answer<()> {
        let engine = self.clone();
        Box::pin(async move { engine.enqueue(request).await })
    }

    fn dequeue(&self, request: DequeueRequest) -> Answer<()> {
        let engine = self.clone();
        Box::pin(async move { engine.dequeue(request).await })
    }

    fn promote(&self, request: PromoteRequest) -> Answer<()> {
        let engine = self.clone();
        Box::pin(async move { engine.promote(request).await })
    }

    fn autohold(&self, request: AutoholdRequest) -> Answer<String> {
        let engine = self.clone();
        Box::pin(async move { engine.autohold(request).await })
    }

    fn autohold_list(&self, tenant: String) -> Answer<Vec<AutoholdInfo>> {
        let engine = self.clone();
        Box::pin(async move { engine.autohold_list(&tenant).await })
    }

    fn autohold_get(&self, id: String) -> Answer<Option<AutoholdInfo>> {
        let engine = self.clone();
        Box::pin(async move { engine.autohold_get(&id).await })
    }

    fn autohold_delete(&self, id: String) -> Answer<bool> {
        let engine = self.clone();
        Box::pin(async move { engine.autohold_delete(&id).await })
    }
}
