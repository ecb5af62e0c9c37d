//! The git driver's poller: like Zuul's git watcher, it lists every project's
//! branches and tags every `poll-delay` seconds and turns each created, updated
//! or deleted ref into a `ref-updated` trigger event. Branches under the
//! connection's review prefix are proposed changes instead: they become
//! `patchset-created`, `change-abandoned` and `change-merged` events (see
//! [`change_poll`]).

pub mod change_book;
mod change_poll;
pub mod review;

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::join_all;
use portcullis_actors::event::{TriggerEvent, NULL_REV};
use portcullis_config::server::GitConnection;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::merger::Merger;

/// A running poller; dropping it stops the polling task.
pub struct PollerHandle {
    task: JoinHandle<()>,
    rounds: watch::Receiver<u64>,
}

impl PollerHandle {
    /// How many poll rounds (over every project) have completed, as it changes.
    pub fn rounds(&self) -> watch::Receiver<u64> {
        self.rounds.clone()
    }
}

impl Drop for PollerHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts polling `projects` of the git connection `connection_name`; events go to `events`.
pub fn spawn_git_poller(
    connection_name: String,
    connection: GitConnection,
    projects: Vec<String>,
    merger: Merger,
    events: impl Fn(TriggerEvent) + Send + Sync + 'static,
) -> PollerHandle {
    let (rounds_tx, rounds) = watch::channel(0);
    let delay =
        Duration::try_from_secs_f64(connection.poll_delay).unwrap_or(Duration::from_secs(2));
    let mut poller = Poller {
        changes: change_poll::ChangePoller {
            connection: connection_name.clone(),
            prefix: connection.review_prefix.clone(),
            merger: merger.clone(),
            polled: Default::default(),
        },
        connection: connection_name,
        merger,
        projects: projects
            .into_iter()
            .map(|p| (p, ProjectState::default()))
            .collect(),
    };
    let task = tokio::spawn(async move {
        loop {
            poller.poll(&events).await;
            rounds_tx.send_modify(|n| *n += 1);
            tokio::time::sleep(delay).await;
        }
    });
    PollerHandle { task, rounds }
}

/// What the poller knows of one project.
#[derive(Default)]
struct ProjectState {
    /// Refs at the last successful read; `None` until the first one.
    refs: Option<BTreeMap<String, String>>,
    /// True while reads fail, so a failure streak is logged once.
    failing: bool,
}

impl ProjectState {
    /// Records a successful read and returns the changes since the previous one;
    /// the first read only records, as there is nothing to compare it to.
    fn observe(&mut self, refs: BTreeMap<String, String>) -> Vec<(String, String, String)> {
        let changes = match &self.refs {
            Some(old) => ref_changes(old, &refs),
            None => Vec::new(),
        };
        self.refs = Some(refs);
        changes
    }
}

struct Poller {
    connection: String,
    merger: Merger,
    /// Review branches to change events, through the change book.
    changes: change_poll::ChangePoller,
    projects: BTreeMap<String, ProjectState>,
}

impl Poller {
    async fn poll(&mut self, events: &(impl Fn(TriggerEvent) + Send + Sync)) {
        let reads = self
            .projects
            .keys()
            .map(|project| self.merger.refs(&self.connection, project));
        let results = join_all(reads).await;
        for ((project, state), result) in self.projects.iter_mut().zip(results) {
            match result {
                Ok(refs) => {
                    if state.failing {
                        tracing::info!(connection = %self.connection, %project, "repo readable again");
                        state.failing = false;
                    }
                    let seen = change_poll::ProjectRefs {
                        project,
                        refs: &refs,
                    };
                    let changes = self.changes.poll(seen).await;
                    let prefix = &self.changes.prefix;
                    let plain = refs
                        .iter()
                        .filter(|(name, _)| !change_poll::is_review_ref(prefix, name))
                        .map(|(name, sha)| (name.clone(), sha.clone()))
                        .collect();
                    for (ref_name, oldrev, newrev) in state.observe(plain) {
                        events(TriggerEvent::ref_updated(
                            &self.connection,
                            project,
                            &ref_name,
                            &oldrev,
                            &newrev,
                        ));
                    }
                    changes.into_iter().for_each(&events);
                }
                Err(error) => {
                    if !state.failing {
                        tracing::warn!(connection = %self.connection, %project, %error, "cannot read repo refs; retrying every poll");
                        state.failing = true;
                    }
                }
            }
        }
    }
}

/// The refs that changed between two reads, as (ref, oldrev, newrev):
/// created first, then deleted, then updated, as Zuul's git watcher orders them.
fn ref_changes(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Vec<(String, String, String)> {
    let created = new
        .iter()
        .filter(|(r, _)| !old.contains_key(*r))
        .map(|(r, sha)| (r.clone(), NULL_REV.to_string(), sha.clone()));
    let deleted = old
        .iter()
        .filter(|(r, _)| !new.contains_key(*r))
        .map(|(r, sha)| (r.clone(), sha.clone(), NULL_REV.to_string()));
    let updated = new.iter().filter_map(|(r, sha)| {
        let before = old.get(r).filter(|before| *before != sha)?;
        Some((r.clone(), before.clone(), sha.clone()))
    });
    created.chain(deleted).chain(updated).collect()
}

#[cfg(test)]
mod tests;
