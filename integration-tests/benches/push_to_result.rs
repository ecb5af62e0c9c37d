//! Push → result for a no-op Ansible job, through the real server.
//!
//! Measures, per push: the wall time from `git commit` in the polled repo to the
//! finished build in `/api/tenant/example/builds`, and the build's own duration
//! (its start to end as stored). The difference is Portcullis's overhead:
//! polling, layout reload, checkout, store writes. Run with
//! `cargo bench -p portcullis-integration-tests --bench push_to_result`.

use std::time::{Duration, Instant};

use portcullis_integration_tests::server::TENANT;
use portcullis_integration_tests::{Scenario, TestServer};

const PUSHES: usize = 10;

const JOB: &str = "- job:\n    name: empty-play\n    run: playbooks/noop.yaml\n- project:\n    post:\n      jobs: [empty-play]\n";
const NOOP: &str = "- hosts: all\n  gather_facts: false\n  tasks: []\n";

#[tokio::main]
async fn main() {
    let scenario = Scenario {
        poll_delay: 0.05,
        ..Scenario::default()
    };
    let server = TestServer::start(scenario).await;
    server.demo.commit(
        "Add the no-op job",
        &[(".zuul.yaml", JOB), ("playbooks/noop.yaml", NOOP)],
    );
    let warmup = server.demo.head();
    server.finished_build("empty-play", &warmup).await;

    let mut totals = Vec::new();
    let mut builds = Vec::new();
    for n in 0..PUSHES {
        let pushed = Instant::now();
        let newrev = server
            .demo
            .commit(&format!("Push {n}"), &[("counter", &n.to_string())]);
        let build = wait_fast(&server, &newrev).await;
        totals.push(pushed.elapsed());
        builds.push(build_duration(&build));
    }
    report(&totals, &builds);
}

/// Polls every 5 ms so the measurement's own resolution stays small.
async fn wait_fast(server: &TestServer, newrev: &str) -> serde_json::Value {
    let path = format!("/api/tenant/{TENANT}/builds?newrev={newrev}&complete=true");
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Some((_, builds)) = server.try_get(&path).await {
            if let Some(build) = builds.as_array().and_then(|b| b.first()) {
                return build.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("no result for {newrev}; server log:\n{}", server.log());
}

fn build_duration(build: &serde_json::Value) -> Duration {
    let seconds = build["duration"].as_f64().unwrap_or(0.0);
    Duration::from_secs_f64(seconds)
}

fn report(totals: &[Duration], builds: &[Duration]) {
    let overheads: Vec<Duration> = totals
        .iter()
        .zip(builds)
        .map(|(t, b)| t.saturating_sub(*b))
        .collect();
    println!(
        "push -> result, no-op Ansible job, {} pushes, poll-delay 0.05 s",
        totals.len()
    );
    println!(
        "  total     median {:>7.0} ms   max {:>7.0} ms",
        ms(median(totals)),
        ms(max(totals))
    );
    println!(
        "  build     median {:>7.0} ms   max {:>7.0} ms",
        ms(median(builds)),
        ms(max(builds))
    );
    println!(
        "  overhead  median {:>7.0} ms   max {:>7.0} ms",
        ms(median(&overheads)),
        ms(max(&overheads))
    );
}

fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn max(values: &[Duration]) -> Duration {
    values.iter().copied().max().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
