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

/// As [`until`], for a probe that tells what it saw while the condition does
/// not hold yet: a timeout names the last of it.
pub async fn until_seen<T, F, Fut>(what: &str, deadline: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let end = Instant::now() + deadline;
    loop {
        let seen = match probe().await {
            Ok(value) => return value,
            Err(seen) => seen,
        };
        assert!(
            Instant::now() < end,
            "timed out after {deadline:?} waiting for {what}; last saw {seen}"
        );
        tokio::time::sleep(RECHECK).await;
    }
}
