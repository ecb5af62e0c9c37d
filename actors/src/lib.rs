//! The Portcullis engine: one actix actor per moving part, and the ports
//! (traits) through which it reaches the world.
//!
//! | module | what it holds |
//! |---|---|
//! | [`admin`] | admin commands (enqueue, dequeue, promote) and their errors |
//! | [`autohold`] | autohold requests, kept per tenant, consulted by every item |
//! | [`change`] | proposed changes, speculative states, and the merger and reporter ports |
//! | [`event`] | trigger events and the ref an item is about |
//! | [`known_changes`] | the changes a tenant was told of, and where each stands |
//! | [`result`] | build and buildset results with Zuul's names |
//! | [`port`] | the traits `src/` implements: executor, store, layout loader |
//! | [`log_hub`] | live log lines of running builds, for websockets |
//! | [`scheduler`] | the Scheduler actor: routes events to tenants |
//! | [`tenant`] | the Tenant actor: layout and pipelines |
//! | [`pipeline`] | the Pipeline actor: change queues, windows, managers, reports |
//! | [`queue_item`] | the QueueItem actor: speculative state, job graph and builds of one item |
//! | [`build`] | the Build actor: one job run |
//! | [`tunnel`] | the Tunnel actor: a supervised kubectl port-forward to a pod |
//! | [`record_queue`] | ordered, non-blocking writes of one item's records to the store |
//! | [`report_text`] | a report's text in Zuul's layout: message, buildset page, job lines |
//! | [`status`] | snapshots of the engine in Zuul's status format |
//! | [`handle`] | [`EngineHandle`], all that the web and drivers use |

pub mod admin;
pub mod autohold;
pub mod build;
pub mod change;
pub mod event;
pub mod handle;
pub mod known_changes;
pub mod log_hub;
pub mod pipeline;
pub mod port;
pub mod queue_item;
pub mod record_queue;
pub mod report_text;
pub mod result;
pub mod scheduler;
pub mod status;
pub mod tenant;
pub mod tunnel;

#[cfg(test)]
mod tests;

pub use admin::{AdminError, DequeueRequest, EnqueueRequest, PromoteRequest};
pub use autohold::{AutoholdInfo, AutoholdRequest};
pub use event::{ItemRef, TriggerEvent};
pub use handle::EngineHandle;

pub use log_hub::LogHub;
pub use port::{BuildLog, BuildOutcome, BuildRequest, BuildStore, Executor, LayoutLoader, Ports};
pub use result::BuildResult;
