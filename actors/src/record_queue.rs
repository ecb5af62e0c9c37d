//! Ordered, non-blocking writes to the store for one item.
//!
//! Records of one item must land in order (a build's start before its end,
//! every build before the buildset's end) while the actor never waits on the
//! database. One task per item drains a channel in order.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::port::{BuildStore, StoreRecord};

enum Entry {
    Record(Box<StoreRecord>),
    Flush(oneshot::Sender<()>),
}

/// A writer that stores records in the order they were queued.
pub struct RecordQueue {
    tx: mpsc::UnboundedSender<Entry>,
}

impl RecordQueue {
    /// Starts the writer task for one item (on the current runtime).
    pub fn start(store: Arc<dyn BuildStore>) -> RecordQueue {
        let (tx, mut rx) = mpsc::unbounded_channel::<Entry>();
        tokio::spawn(async move {
            while let Some(entry) = rx.recv().await {
                match entry {
                    Entry::Record(record) => {
                        if let Err(err) = store.record(*record).await {
                            // History is lost for this record, but the pipeline goes on.
                            tracing::error!(%err, "could not write build history");
                        }
                    }
                    Entry::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
        RecordQueue { tx }
    }

    /// Queues a record.
    pub fn push(&self, record: StoreRecord) {
        let _ = self.tx.send(Entry::Record(Box::new(record)));
    }

    /// Resolves once every record queued so far is written (or failed).
    pub fn flushed(&self) -> impl std::future::Future<Output = ()> + 'static {
        let (done, wait) = oneshot::channel();
        let _ = self.tx.send(Entry::Flush(done));
        async move {
            let _ = wait.await;
        }
    }
}
