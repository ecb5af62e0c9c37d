//! The LogHub: live log lines of running builds, fanned out to subscribers.
//!
//! A subscriber gets every line from the build's first, then each new one as
//! it is published, with nothing lost in between: the backlog and the live
//! channel are taken under one lock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

/// Live logs of running builds, by build uuid. Cheap to clone.
#[derive(Clone, Default)]
pub struct LogHub {
    streams: Arc<Mutex<HashMap<String, Stream>>>,
}

#[derive(Default)]
struct Stream {
    /// Every line so far, for late subscribers; dropped when the build ends.
    lines: Vec<String>,
    subscribers: Vec<mpsc::UnboundedSender<String>>,
}

/// A live subscription: the lines so far, then new ones until the build ends
/// (the receiver then yields `None`).
pub struct LogSubscription {
    /// Lines published before subscribing.
    pub backlog: Vec<String>,
    /// Lines published after; closed when the build's log closes.
    pub live: mpsc::UnboundedReceiver<String>,
}

impl LogHub {
    /// A hub with no streams.
    pub fn new() -> Self {
        LogHub::default()
    }

    /// Opens the stream of a starting build.
    pub fn open(&self, uuid: &str) {
        self.lock().entry(uuid.to_string()).or_default();
    }

    /// Publishes a line of a build; ignored when its stream is not open.
    pub fn publish(&self, uuid: &str, line: &str) {
        let mut streams = self.lock();
        if let Some(stream) = streams.get_mut(uuid) {
            stream.lines.push(line.to_string());
            stream
                .subscribers
                .retain(|s| s.send(line.to_string()).is_ok());
        }
    }

    /// Closes a build's stream: subscribers see the end of their channel.
    pub fn close(&self, uuid: &str) {
        self.lock().remove(uuid);
    }

    /// Subscribes to a running build; `None` when it is not running.
    pub fn subscribe(&self, uuid: &str) -> Option<LogSubscription> {
        let mut streams = self.lock();
        let stream = streams.get_mut(uuid)?;
        let (tx, rx) = mpsc::unbounded_channel();
        stream.subscribers.push(tx);
        Some(LogSubscription {
            backlog: stream.lines.clone(),
            live: rx,
        })
    }

    /// True while the build's stream is open.
    pub fn is_open(&self, uuid: &str) -> bool {
        self.lock().contains_key(uuid)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Stream>> {
        // A panic while holding the lock cannot leave the map inconsistent: every
        // mutation is a single insert, push or remove.
        self.streams.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_late_subscriber_gets_the_backlog_then_live_lines_then_the_end() {
        let hub = LogHub::new();
        hub.open("b1");
        hub.publish("b1", "one");
        let mut sub = hub.subscribe("b1").unwrap();
        hub.publish("b1", "two");
        hub.close("b1");
        assert_eq!(sub.backlog, vec!["one"]);
        assert_eq!(sub.live.recv().await.as_deref(), Some("two"));
        assert_eq!(sub.live.recv().await, None);
    }

    #[test]
    fn a_build_that_is_not_running_has_no_subscription() {
        let hub = LogHub::new();
        assert!(hub.subscribe("nope").is_none());
        hub.publish("nope", "ignored");
        assert!(!hub.is_open("nope"));
    }
}
