//! A bounded fuzzing run of the config parser on the stable toolchain, for
//! machines without nightly and cargo-fuzz (CI): mutates the seed corpus
//! (`config/fuzz/corpus/project_config` and every YAML file of
//! `config/tests/corpus`) and feeds each result to the same function as the
//! cargo-fuzz target, until the time is up.
//!
//!     cargo run --release -p portcullis-config --example fuzz -- [SECONDS] [SEED]
//!
//! A panic (a crash, or the two ways of reading a file's items disagreeing),
//! or one input running longer than `STUCK`, writes the input to
//! `config/fuzz/artifacts/` and exits 1; the seed printed at the start
//! replays the run.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portcullis_config::fuzzing::{load_and_freeze, Rng};

/// Longest input tried, as the cargo-fuzz run's -max_len.
const MAX_LEN: usize = 4096;
/// One input taking this long counts as a hang.
const STUCK: Duration = Duration::from_secs(5);
/// Bytes that matter to YAML and to our config, to insert more often than noise.
const YAML_BYTES: &[u8] = b" \n\r-:{}[],'\"!&*#|>?%@`\t0123456789abcdefghijklmnopqrstuvwxyz";
/// Words that steer mutations towards real config.
const WORDS: &[&str] = &[
    "- job:\n",
    "- project:\n",
    "- pipeline:\n",
    "- nodeset:\n",
    "- secret:\n",
    "- project-template:\n",
    "- semaphore:\n",
    "- queue:\n",
    "- pragma:\n",
    "name: ",
    "parent: ",
    "branches: ",
    "files: ",
    "nodeset: ",
    "vars: ",
    "secrets: ",
    "dependencies: ",
    "run: ",
    "pre-run: ",
    "post-run: ",
    "!encrypted/pkcs1-oaep ",
    "pass-to-parent: true",
    "abstract: true",
    "final: true",
    "protected: true",
    "intermediate: true",
    "alternatives: ",
    "templates: ",
    "jobs: ",
    "manager: ",
    "trigger: ",
    "&a ",
    "*a",
    "\u{2028}",
    "<<: *a",
    "~",
    "null",
    "[]",
    "{}",
    "\n    ",
    "\n  - ",
];

fn seeds(config_dir: &Path) -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    collect_yaml(&config_dir.join("fuzz/corpus/project_config"), &mut files);
    collect_yaml(&config_dir.join("tests/corpus"), &mut files);
    files.sort();
    files.iter().filter_map(|f| std::fs::read(f).ok()).collect()
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
        if path.is_dir() {
            collect_yaml(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

/// One to eight random edits of `input`, some borrowing from `other`.
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut data = input.to_vec();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(data.len() + 1);
        match rng.below(7) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 => data.insert(at, YAML_BYTES[rng.below(YAML_BYTES.len())]),
            2 if at < data.len() => {
                let end = (at + 1 + rng.below(32)).min(data.len());
                data.drain(at..end);
            }
            3 => {
                let word = WORDS[rng.below(WORDS.len())].as_bytes();
                data.splice(at..at, word.iter().copied());
            }
            4 if !other.is_empty() => {
                let from = rng.below(other.len());
                let end = (from + 1 + rng.below(256)).min(other.len());
                data.splice(at..at, other[from..end].iter().copied());
            }
            5 if at < data.len() => {
                let end = (at + 1 + rng.below(64)).min(data.len());
                let copy = data[at..end].to_vec();
                data.splice(at..at, copy);
            }
            _ => data.insert(at, rng.next_u64() as u8),
        }
    }
    data.truncate(MAX_LEN);
    data
}

fn save(dir: &Path, kind: &str, input: &[u8]) -> PathBuf {
    let _ = std::fs::create_dir_all(dir);
    let path = dir.join(format!("{kind}-{}.yaml", std::process::id()));
    let _ = std::fs::write(&path, input);
    path
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(60);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        now.map_or(1, |d| d.as_nanos() as u64) | 1
    });
    let config_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let artifacts = config_dir.join("fuzz/artifacts");
    let corpus = seeds(config_dir);
    if corpus.is_empty() {
        eprintln!("no seeds under {}", config_dir.display());
        std::process::exit(2);
    }
    println!(
        "fuzzing the config parser for {seconds} s, seed {seed}, {} seeds",
        corpus.len()
    );

    // A watchdog: the input being tried, and when it started (ms since start, 0: idle).
    let current: Arc<Mutex<Vec<u8>>> = Arc::default();
    let started_ms = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    {
        let (current, started_ms, artifacts) =
            (current.clone(), started_ms.clone(), artifacts.clone());
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(200));
            let began = started_ms.load(Ordering::SeqCst);
            let now = start.elapsed().as_millis() as u64;
            if began > 0 && now.saturating_sub(began) > STUCK.as_millis() as u64 {
                let input = current.lock().map(|c| c.clone()).unwrap_or_default();
                let path = save(&artifacts, "hang", &input);
                eprintln!("an input ran over {STUCK:?}: {}", path.display());
                std::process::exit(1);
            }
        });
    }
    // Panics are what we look for; their message goes to stderr once, with the input saved.
    let mut rng = Rng(seed);
    let deadline = start + Duration::from_secs(seconds);
    let mut runs: u64 = 0;
    while Instant::now() < deadline {
        let (a, b) = (rng.below(corpus.len()), rng.below(corpus.len()));
        let input = mutate(&mut rng, &corpus[a], &corpus[b]);
        let Ok(text) = std::str::from_utf8(&input) else {
            continue;
        };
        if let Ok(mut c) = current.lock() {
            c.clone_from(&input);
        }
        started_ms.store(start.elapsed().as_millis().max(1) as u64, Ordering::SeqCst);
        let outcome = std::panic::catch_unwind(|| load_and_freeze(text));
        started_ms.store(0, Ordering::SeqCst);
        if outcome.is_err() {
            let path = save(&artifacts, "crash", &input);
            eprintln!(
                "panic on input {} (seed {seed}, run {runs})",
                path.display()
            );
            std::process::exit(1);
        }
        runs += 1;
    }
    println!("{runs} inputs in {seconds} s, no panic, no hang");
}
