//! Connections: sources of trigger events.
//!
//! | module | what it holds |
//! |---|---|
//! | [`git`] | the git poller: ref updates of plain git repos as `ref-updated` events |

pub mod git;
pub mod report;

pub use git::{spawn_git_poller, PollerHandle};
