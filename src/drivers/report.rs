//! Reports of item results to connections: the engine's [`Reporter`] port.
//!
//! Plain git connections have nowhere to vote or comment; merging comes with gating.

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use portcullis_actors::change::{Report, ReportError, Reporter};

/// Routes reports to the driver of their connection.
#[derive(Clone, Default)]
pub struct ConnectionReporter;

impl Reporter for ConnectionReporter {
    fn report(&self, report: Report) -> BoxFuture<'static, Result<(), ReportError>> {
        tracing::debug!(connection = %report.connection, result = %report.result, "report");
        async { Ok(()) }.boxed()
    }
}
