//! The tenant's current layout, for the web layer's config views (jobs,
//! config errors, frozen job graphs).

use std::sync::Arc;

use actix::prelude::*;
use portcullis_config::{ConfigError, Layout};

use super::Tenant;

/// Asks for the tenant's layout. Sent by the Scheduler for [`crate::EngineHandle::layout`].
#[derive(Debug, Message)]
#[rtype(result = "TenantLayout")]
pub struct GetLayout;

/// A tenant's layout as the engine runs it.
#[derive(Debug, Clone, Default)]
pub struct TenantLayout {
    /// The layout in use; `None` until one has loaded.
    pub layout: Option<Arc<Layout>>,
    /// Errors in config projects that made the last load fail; the layout
    /// above (the previous one) stays in use until a load succeeds.
    pub refused: Vec<ConfigError>,
}

impl Handler<GetLayout> for Tenant {
    type Result = MessageResult<GetLayout>;

    fn handle(&mut self, _: GetLayout, _: &mut Context<Self>) -> Self::Result {
        MessageResult(TenantLayout {
            layout: self.layout.clone(),
            refused: self.refused.clone(),
        })
    }
}
