//! Reports of item results to connections: the engine's [`Reporter`] port.
//!
//! Plain git has nowhere to vote or comment. A report whose settings say
//! `merge: true` merges its change into the target branch of the upstream
//! repo, in the project's merge mode and the way its speculative state was
//! built (see [`Merger::land`]), then deletes the review branch and records
//! the change as merged in the change book, so the poller does not take the
//! branch's deletion for an abandonment. A failure comes back as a
//! [`ReportError`] with the reason; the engine makes it a MERGE_FAILURE.

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use portcullis_actors::change::{Report, ReportError, Reporter};

use crate::drivers::git::change_book::{book_path, ChangeBook};
use crate::merger::{Landing, Merger};

/// The git connections' reporter: lands changes whose reports ask for a merge.
#[derive(Clone)]
pub struct GitReporter {
    merger: Merger,
}

impl GitReporter {
    /// A reporter that lands changes through `merger`.
    pub fn new(merger: Merger) -> GitReporter {
        GitReporter { merger }
    }
}

impl Reporter for GitReporter {
    fn report(&self, report: Report) -> BoxFuture<'static, Result<(), ReportError>> {
        let merger = self.merger.clone();
        async move { deliver(&merger, &report).await }.boxed()
    }
}

/// A reporter that only logs: for engines without repos to merge into (tests of
/// the web API). The server uses [`GitReporter`].
#[derive(Clone, Default)]
pub struct ConnectionReporter;

impl Reporter for ConnectionReporter {
    fn report(&self, report: Report) -> BoxFuture<'static, Result<(), ReportError>> {
        tracing::debug!(connection = %report.connection, result = %report.result, "report");
        async { Ok(()) }.boxed()
    }
}

/// Whether the reporter settings ask for a merge.
fn wants_merge(settings: &serde_json::Value) -> bool {
    settings.get("merge").and_then(serde_json::Value::as_bool) == Some(true)
}

async fn deliver(merger: &Merger, report: &Report) -> Result<(), ReportError> {
    let item = &report.item;
    if !wants_merge(&report.settings) {
        tracing::debug!(connection = %report.connection, project = %item.project, result = %report.result, "report");
        return Ok(());
    }
    let fail = |reason: String| ReportError(format!("{}: {reason}", item.project));
    let Some(change) = &item.change else {
        return Err(fail(format!(
            "{} is not a change; only changes merge",
            item.ref_name
        )));
    };
    let Some(target) = item.branch.as_deref() else {
        return Err(fail(format!(
            "change {} has no target branch",
            change.number
        )));
    };
    let path = book_path(merger.cache_dir(), &report.connection);
    let book = ChangeBook::shared(path)
        .await
        .map_err(|e| fail(e.to_string()))?;
    // Held across the landing, so the poller cannot see the review branch gone
    // before the change is booked as merged.
    let mut book = book.lock().await;
    let record = book
        .by_number(change.number)
        .filter(|r| r.project == item.project);
    let Some(record) = record.filter(|r| !r.merged).cloned() else {
        // Merged before (a restart replays its report) or never proposed here.
        let landed = merger.landed(&report.connection, &item.project, target, &item.newrev);
        return match landed.await {
            Ok(true) => Ok(()),
            Ok(false) => Err(fail(format!(
                "change {} has no review branch",
                change.number
            ))),
            Err(e) => Err(fail(e.to_string())),
        };
    };
    let landing = Landing {
        connection: &report.connection,
        project: &item.project,
        target,
        review_branch: &record.branch,
        patchset: &item.newrev,
        number: change.number,
        message: &change.message,
        mode: report.mode,
    };
    let head = merger
        .land(&landing)
        .await
        .map_err(|e| fail(e.to_string()))?;
    book.set_merged(change.number);
    if let Err(error) = book.save().await {
        tracing::warn!(connection = %report.connection, %error, "merged, but cannot save the change book");
    }
    tracing::info!(connection = %report.connection, project = %item.project, change = change.number, %target, %head, "change merged");
    Ok(())
}

#[cfg(test)]
mod tests;
