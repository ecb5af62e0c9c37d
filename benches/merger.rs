//! How long the merger takes per speculative state: a generated repo with
//! 10,000 commits on master, four review branches cut 50 commits back, and
//! the state of the fourth (three changes ahead of it) built again and again
//! in each merge mode. Prints the median and 90th percentile per mode.
//!
//! Run with `cargo bench --bench merger` (set `MERGER_BENCH_RUNS` to change
//! the number of states per mode, 25 by default).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use portcullis::merger::Merger;
use portcullis_actors::change::{ChangeRef, MergeItem, MergeMode, MergeRequest};
use portcullis_actors::event::ItemRef;
use portcullis_config::server::{Connection, GitConnection};

const COMMITS: usize = 10_000;
const FILES: usize = 400;
const CHANGES: usize = 4;

fn main() {
    let runs: usize = std::env::var("MERGER_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(25);
    let dir = tempfile::tempdir().expect("a temp dir");
    let repos = dir.path().join("repos");
    let started = Instant::now();
    let changes = generate(&repos.join("demo"));
    println!(
        "generated {COMMITS} commits over {FILES} files and {CHANGES} review branches in {:.1?}",
        started.elapsed()
    );
    let merger = Merger::new(dir.path().join("cache"), connections(&repos));
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    println!(
        "{:<14} {:>10} {:>10} {:>10}",
        "mode", "first", "median", "p90"
    );
    for mode in [
        MergeMode::Merge,
        MergeMode::MergeResolve,
        MergeMode::CherryPick,
        MergeMode::SquashMerge,
        MergeMode::Rebase,
    ] {
        let mut times: Vec<Duration> = (0..runs)
            .map(|run| {
                let request = request(&changes, mode, run);
                let started = Instant::now();
                runtime
                    .block_on(merger.speculate(&request))
                    .expect("a state");
                started.elapsed()
            })
            .collect();
        let first = times[0];
        times.sort();
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
        let name = format!("{mode:?}");
        println!(
            "{name:<14} {:>10} {:>10} {:>10}",
            ms(first),
            ms(at(0.5)),
            ms(at(0.9))
        );
    }
}

/// A state request for the last change with the others ahead, all in `mode`.
fn request(changes: &[String], mode: MergeMode, run: usize) -> MergeRequest {
    let items = changes
        .iter()
        .enumerate()
        .map(|(i, sha)| MergeItem {
            item: ItemRef {
                connection: "local".into(),
                project: "demo".into(),
                ref_name: "refs/heads/master".into(),
                branch: Some("master".into()),
                tag: None,
                oldrev: String::new(),
                newrev: sha.clone(),
                change: Some(ChangeRef {
                    number: i as u64 + 1,
                    patchset: sha.clone(),
                    url: None,
                    message: format!("Change {i}\n"),
                    depends_on: Vec::new(),
                    parents: Vec::new(),
                }),
            },
            mode,
        })
        .collect();
    MergeRequest {
        item_uuid: format!("bench-{mode:?}-{run}"),
        items,
        required: Vec::new(),
    }
}

fn connections(repos: &Path) -> BTreeMap<String, Connection> {
    let git = GitConnection::folder(repos, 60.0);
    BTreeMap::from([("local".to_string(), Connection::Git(git))])
}

/// A bare repo built with `git fast-import`; returns the review branches' heads.
fn generate(path: &Path) -> Vec<String> {
    std::fs::create_dir_all(path).expect("repo folder");
    git(
        path,
        &["init", "--quiet", "--bare", "--initial-branch=master"],
    );
    let mut import = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(path)
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import");
    let mut stream = std::io::BufWriter::new(import.stdin.take().expect("stdin"));
    let fork = COMMITS - 50;
    for n in 1..=COMMITS {
        let file = n % FILES;
        commit(
            &mut stream,
            "refs/heads/master",
            n,
            &format!("src/f{file}.txt"),
            n,
        );
        if n == fork {
            for c in 0..CHANGES {
                let branch = format!("refs/heads/review/master/change-{c}");
                writeln!(stream, "reset {branch}\nfrom :{fork}\n").expect("write");
                commit(
                    &mut stream,
                    &branch,
                    COMMITS + 1 + c,
                    &format!("new/c{c}.txt"),
                    c,
                );
            }
        }
    }
    drop(stream);
    assert!(import.wait().expect("fast-import ran").success());
    (0..CHANGES)
        .map(|c| {
            let branch = format!("refs/heads/review/master/change-{c}");
            git(path, &["rev-parse", &branch])
        })
        .collect()
}

/// One fast-import commit (mark `mark`) on `branch` writing `file`.
fn commit(out: &mut impl Write, branch: &str, mark: usize, file: &str, content: usize) {
    let text = format!("line {content}\n");
    let message = format!("commit {mark}\n");
    let time = 1_700_000_000 + mark;
    write!(
        out,
        "commit {branch}\nmark :{mark}\ncommitter Bench <bench@example.invalid> {time} +0000\n\
         data {}\n{message}M 100644 inline {file}\ndata {}\n{text}\n",
        message.len(),
        text.len()
    )
    .expect("write");
}

/// Runs git in `dir`; its output, trimmed.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
