//! The poller's half of changes on plain git: review branches, compared with
//! the change book, become `patchset-created`, `change-abandoned` and (once
//! the reporter merged one and its branch is gone) `change-merged` events.
//! The first poll after a start also tells of every open change that did
//! not move, as `change-known` (no trigger takes it), so that the engine,
//! which keeps no changes across a restart, still knows what they need.
//! A new patchset's event names its git parents: the other open changes of
//! the project whose patchsets are among the commits its target lacks.
//!
//! The book, not the previous poll, is what a project's review branches are
//! compared with: it is kept across restarts, so a change pushed, amended or
//! deleted while the server was down is reported on the first poll after.

use std::collections::{BTreeMap, BTreeSet};

use portcullis_actors::change::ChangeRef;
use portcullis_actors::event::{TriggerEvent, NULL_REV};

use super::change_book::{book_path, ChangeBook, ChangeRecord};
use super::review;
use crate::merger::{Merger, PatchsetCommits};

/// What one review branch (or its absence) means for the book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// A review branch the book does not know (or only as merged): a new change.
    Open {
        /// The review branch.
        branch: String,
        /// Its head.
        sha: String,
    },
    /// A known change whose review branch moved: a new patchset.
    Update {
        /// The change.
        record: ChangeRecord,
        /// The new head.
        sha: String,
    },
    /// A change whose review branch is gone: abandoned, or merged by the
    /// reporter when the record says so.
    Gone(ChangeRecord),
    /// An open change as it was before the server started: told once, as
    /// `change-known`, so the engine knows what later changes may need.
    Known(ChangeRecord),
}

/// The steps that bring `book` (a project's changes) in line with its
/// `review` branches (branch → head): opens and updates by branch, then
/// the changes whose branches are gone.
pub(super) fn plan(book: &[ChangeRecord], review: &BTreeMap<String, String>) -> Vec<Step> {
    let mut steps = Vec::new();
    for (branch, sha) in review {
        match book.iter().find(|r| r.branch == *branch) {
            Some(record) if record.patchset == *sha => {}
            // A new push to the name of a merged change is a new change.
            Some(record) if !record.merged => steps.push(Step::Update {
                record: record.clone(),
                sha: sha.clone(),
            }),
            _ => steps.push(Step::Open {
                branch: branch.clone(),
                sha: sha.clone(),
            }),
        }
    }
    let gone = book.iter().filter(|r| !review.contains_key(&r.branch));
    steps.extend(gone.cloned().map(Step::Gone));
    steps
}

/// The open changes of `book` whose review branches did not move: what a
/// first poll after a start tells of without a step of its own.
pub(super) fn known(book: &[ChangeRecord], review: &BTreeMap<String, String>) -> Vec<Step> {
    let unchanged = |r: &&ChangeRecord| !r.merged && review.get(&r.branch) == Some(&r.patchset);
    book.iter()
        .filter(unchanged)
        .cloned()
        .map(Step::Known)
        .collect()
}

/// The review branches (branch → head) and the other branches among a
/// project's `refs` (full ref → sha).
pub(super) fn split_branches(
    prefix: &str,
    refs: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, BTreeSet<String>) {
    let mut review = BTreeMap::new();
    let mut branches = BTreeSet::new();
    for (name, sha) in refs {
        let Some(branch) = name.strip_prefix("refs/heads/") else {
            continue;
        };
        if review::review_name(prefix, branch).is_some() {
            review.insert(branch.to_string(), sha.clone());
        } else {
            branches.insert(branch.to_string());
        }
    }
    (review, branches)
}

/// Whether a full ref name is a review branch, which never causes `ref-updated`.
pub(super) fn is_review_ref(prefix: &str, ref_name: &str) -> bool {
    ref_name
        .strip_prefix("refs/heads/")
        .and_then(|branch| review::review_name(prefix, branch))
        .is_some()
}

/// Turns one connection's review branches into change events.
pub(super) struct ChangePoller {
    /// The connection's name.
    pub connection: String,
    /// Its review prefix (`review/`); empty turns changes off.
    pub prefix: String,
    /// Reads refs, default branches and commit messages.
    pub merger: Merger,
    /// The projects polled since the start (whose open changes were told of).
    pub polled: BTreeSet<String>,
}

/// One project's refs as the poller read them.
pub(super) struct ProjectRefs<'a> {
    /// The project.
    pub project: &'a str,
    /// Full ref → sha, as ls-remote listed them.
    pub refs: &'a BTreeMap<String, String>,
}

/// A step written into the book, waiting for its event.
struct Booked {
    kind: &'static str,
    number: u64,
    target: String,
    sha: String,
}

impl ChangePoller {
    /// The change events of a project's review branches, booked before they are answered.
    pub async fn poll(&mut self, seen: ProjectRefs<'_>) -> Vec<TriggerEvent> {
        if self.prefix.is_empty() {
            return Vec::new();
        }
        let path = book_path(self.merger.cache_dir(), &self.connection);
        let book = match ChangeBook::shared(path).await {
            Ok(book) => book,
            Err(error) => {
                tracing::warn!(connection = %self.connection, %error, "cannot read the change book; review branches wait");
                return Vec::new();
            }
        };
        let (review, branches) = split_branches(&self.prefix, seen.refs);
        // Held until the book is saved, so a merge the reporter is landing is
        // booked before its branch's deletion is judged.
        let mut book = book.lock().await;
        let records = book.of_project(seen.project);
        let mut steps = plan(&records, &review);
        if self.polled.insert(seen.project.to_string()) {
            steps.extend(known(&records, &review));
        }
        if steps.is_empty() {
            return Vec::new();
        }
        // Every step is booked before any event is made, so changes pushed in
        // one poll find each other as git parents.
        let mut booked = Vec::new();
        for step in steps {
            booked.extend(self.book(&mut book, seen.project, &branches, step).await);
        }
        let mut events = Vec::new();
        for step in booked {
            events.push(self.event(&book, &seen, step).await);
        }
        if let Err(error) = book.save().await {
            tracing::warn!(connection = %self.connection, %error, "cannot save the change book");
        }
        events
    }

    /// Writes one step into the book; `None` when it is no change (yet).
    async fn book(
        &self,
        book: &mut ChangeBook,
        project: &str,
        branches: &BTreeSet<String>,
        step: Step,
    ) -> Option<Booked> {
        let booked = match step {
            Step::Open { branch, sha } => {
                let target = self.target(project, &branch, branches).await?;
                let number = book.open(project, &branch, &target, &sha);
                tracing::info!(connection = %self.connection, %project, %branch, change = number, "new change");
                Booked {
                    kind: "patchset-created",
                    number,
                    target,
                    sha,
                }
            }
            Step::Update { record, sha } => {
                book.set_patchset(record.number, &sha);
                Booked {
                    kind: "patchset-created",
                    number: record.number,
                    target: record.target,
                    sha,
                }
            }
            Step::Known(record) => Booked {
                kind: "change-known",
                number: record.number,
                target: record.target,
                sha: record.patchset,
            },
            Step::Gone(record) => {
                book.remove(project, &record.branch);
                let kind = match record.merged {
                    true => "change-merged",
                    false => "change-abandoned",
                };
                Booked {
                    kind,
                    number: record.number,
                    target: record.target,
                    sha: record.patchset,
                }
            }
        };
        Some(booked)
    }

    /// The event of a booked step, its change's message, Depends-On and git parents read.
    async fn event(&self, book: &ChangeBook, seen: &ProjectRefs<'_>, step: Booked) -> TriggerEvent {
        let target_ref = format!("refs/heads/{}", step.target);
        let target_head = seen.refs.get(&target_ref);
        // An abandoned change needs no message: only its number matters; a
        // merged one needs no parents.
        let read = match step.kind {
            "change-abandoned" => PatchsetCommits::default(),
            "change-merged" => self.read(seen.project, &step.sha, None).await,
            _ => self.read(seen.project, &step.sha, target_head).await,
        };
        let parents = match step.kind {
            // The head itself is the change, not something it builds on.
            "patchset-created" | "change-known" => {
                let below = read.commits.get(1..).unwrap_or_default();
                book.parents(seen.project, step.number, below)
            }
            _ => Vec::new(),
        };
        let change = ChangeRef {
            number: step.number,
            patchset: step.sha,
            url: None,
            depends_on: review::depends_on(&read.message),
            parents,
            message: read.message,
        };
        let mut event = TriggerEvent::for_change(
            &self.connection,
            step.kind,
            seen.project,
            &step.target,
            change,
        );
        event.oldrev = target_head.cloned().unwrap_or_else(|| NULL_REV.into());
        event
    }

    /// The branch a new review branch proposes to; `None` (logged) when there is none.
    async fn target(
        &self,
        project: &str,
        branch: &str,
        branches: &BTreeSet<String>,
    ) -> Option<String> {
        let rest = review::review_name(&self.prefix, branch)?;
        let existing: BTreeSet<&str> = branches.iter().map(String::as_str).collect();
        // The default branch is only asked for when no named target fits.
        if let Some(found) = review::resolve(rest, &existing, None) {
            return Some(found.target);
        }
        let default = match self.merger.default_branch(&self.connection, project).await {
            Ok(default) => default,
            Err(error) => {
                tracing::warn!(connection = %self.connection, %project, %error, "cannot read the default branch");
                None
            }
        };
        let found = review::resolve(rest, &existing, default.as_deref());
        if found.is_none() {
            tracing::debug!(connection = %self.connection, %project, %branch, "review branch without a target branch; not a change yet");
        }
        found.map(|f| f.target)
    }

    /// The patchset's message and its commits the target (`base`) lacks;
    /// only its message when the target cannot be read (it moved away since
    /// the poll listed it); empty (logged) when the patchset cannot be read.
    async fn read(&self, project: &str, sha: &str, base: Option<&String>) -> PatchsetCommits {
        let base = base.map(String::as_str).filter(|b| *b != NULL_REV);
        let (connection, merger) = (&self.connection, &self.merger);
        let mut read = merger
            .patchset_commits(connection, project, sha, base)
            .await;
        if let (Err(error), Some(base)) = (&read, base) {
            tracing::warn!(%connection, %project, %sha, %base, %error, "cannot compare the patchset with its target; no git parents");
            read = merger
                .patchset_commits(connection, project, sha, None)
                .await;
        }
        read.unwrap_or_else(|error| {
            tracing::warn!(%connection, %project, %sha, %error, "cannot read the patchset; no Depends-On, no git parents");
            PatchsetCommits::default()
        })
    }
}
