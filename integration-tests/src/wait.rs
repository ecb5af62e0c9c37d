//! Waiting for a condition with a deadline.

use std::future::Future;
use std::time::{Duration, Instant};

/// How often a condition is checked again.
const RECHECK: Duration = Duration::from_millis(50);

/// Checks `probe` until it yields `Some`, failing the test with `what` after `deadline`.
pub async fn until<T, F, Fut>(what: &str, deadline: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let end = Instant::now() + deadline;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            Instant::now() < end,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(RECHECK).await;
    }
}
