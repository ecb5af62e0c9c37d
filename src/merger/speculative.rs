//! Speculative states: the engine's [`SpeculativeMerger`] port over the repo cache.
//!
//! For now each item is tested at its own revision, on its own: the ahead-of
//! items and merge modes come with gating.

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use portcullis_actors::change::{MergeError, MergeRequest, MergeState, SpeculativeMerger};

use super::Merger;

impl SpeculativeMerger for Merger {
    fn merge(&self, request: MergeRequest) -> BoxFuture<'static, Result<MergeState, MergeError>> {
        let mut state = MergeState::default();
        if let Some(last) = request.items.last() {
            let key = (last.item.connection.clone(), last.item.project.clone());
            state.commits.insert(key, last.item.newrev.clone());
        }
        async move { Ok(state) }.boxed()
    }
}
