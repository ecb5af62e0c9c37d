//! Loading a tenant of N untrusted projects from its repos, as the server does
//! at start and after a push. Each project is a bare repo whose `.zuul.yaml`
//! holds 5 jobs inheriting a shared parent (with vars and file matchers) and a
//! project stanza in the check and gate pipelines; a config project holds the
//! pipelines and the parent jobs.
//!
//! For each N (100, 1,000, 10,000) a fresh child process (this binary again)
//! loads the tenant through `RepoLayoutLoader` over a `Merger` with a fresh
//! state dir (cold load, repos read included), loads it again (reload, as
//! after a push), then builds the layout from the files alone; it reports the
//! times and its peak memory (VmHWM), so no N inherits another's peak.
//!
//! Run with `cargo bench --bench tenant_load` (`-- 100 1000` for chosen sizes).

#[path = "tenant_load/repos.rs"]
mod repos;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use portcullis::keys::KeyStore;
use portcullis::merger::{Merger, RepoLayoutLoader};
use portcullis_config::server::{Connection, GitConnection};
use portcullis_config::{Layout, TenantConfig, TenantDef};

/// Set in a child: `N` and the folder holding the generated repos.
const CHILD_VAR: &str = "TENANT_LOAD_BENCH_CHILD";

fn main() {
    if let Ok(spec) = std::env::var(CHILD_VAR) {
        let (n, dir) = spec.split_once(':').expect("N:dir");
        child(n.parse().expect("N"), Path::new(dir));
        return;
    }
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.replace([',', '_'], "").parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![100, 1_000, 10_000];
    }
    let temp = tempfile::tempdir().expect("a temp dir");
    // TENANT_LOAD_BENCH_KEEP=DIR writes the repos there and keeps them, to
    // profile one child alone (TENANT_LOAD_BENCH_CHILD=N:DIR).
    let root = std::env::var_os("TENANT_LOAD_BENCH_KEEP")
        .map(PathBuf::from)
        .unwrap_or_else(|| temp.path().to_path_buf());
    let most = sizes.iter().copied().max().unwrap_or(0);
    let started = Instant::now();
    repos::generate(&root.join("repos"), most);
    println!(
        "generated {most} project repos and the config repo in {}",
        ms(started.elapsed())
    );
    println!(
        "{:>7} {:>11} {:>11} {:>13} {:>12} {:>12} {:>11}",
        "N", "cold load", "reload", "layout build", "peak (cold)", "peak (all)", "base RSS"
    );
    for n in sizes {
        let out = Command::new(std::env::current_exe().expect("own path"))
            .env(CHILD_VAR, format!("{n}:{}", root.display()))
            .output()
            .expect("the child bench");
        let text = String::from_utf8_lossy(&out.stdout);
        let Some(line) = text.lines().find_map(|l| l.strip_prefix("RESULT ")) else {
            panic!(
                "child for N={n} failed: {}{}",
                text,
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let f: Vec<&str> = line.split(' ').collect();
        println!(
            "{n:>7} {:>11} {:>11} {:>13} {:>12} {:>12} {:>11}",
            f[0], f[1], f[2], f[3], f[4], f[5]
        );
    }
}

/// One N: cold load, reload, layout build alone; prints a `RESULT` line.
fn child(n: usize, dir: &Path) {
    let tenant = tenant(n);
    let state = dir.join(format!("state-{n}"));
    let _ = std::fs::remove_dir_all(&state);
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let merger = Merger::new(state.join("git"), connections(&dir.join("repos")));
    let loader = RepoLayoutLoader::new(merger).with_keys(KeyStore::new(&state));
    let base = status_kb("VmRSS");

    let started = Instant::now();
    let layout = runtime.block_on(loader.load_layout(&tenant)).expect("cold");
    let cold = started.elapsed();
    check(&layout, n);
    let peak_cold = status_kb("VmHWM");

    let started = Instant::now();
    let again = runtime
        .block_on(loader.load_layout(&tenant))
        .expect("reload");
    let reload = started.elapsed();
    check(&again, n);
    drop((layout, again));

    let files = repos::config_files(n);
    let drivers = BTreeMap::from([("local".to_string(), "git".to_string())]);
    let started = Instant::now();
    let built = Layout::build(&tenant, &drivers, &files);
    let build = started.elapsed();
    check(&built, n);
    drop((built, files));
    let peak_all = status_kb("VmHWM");
    let _ = std::fs::remove_dir_all(&state);
    println!(
        "RESULT {} {} {} {} {} {}",
        ms(cold),
        ms(reload),
        ms(build),
        mib(peak_cold),
        mib(peak_all),
        mib(base)
    );
}

/// Panics unless the layout is clean and holds every project's jobs.
fn check(layout: &Layout, n: usize) {
    assert!(
        layout.errors.is_empty(),
        "{:?}",
        &layout.errors[..layout.errors.len().min(3)]
    );
    assert_eq!(layout.projects.len(), n, "one project stanza per project");
    assert_eq!(layout.jobs.len(), n * 5 + 2, "5 jobs a project, 2 shared");
}

fn tenant(n: usize) -> TenantDef {
    let mut text = String::from(
        "- tenant:\n    name: bench\n    source:\n      local:\n        config-projects: [config]\n        untrusted-projects:\n",
    );
    for i in 0..n {
        text.push_str(&format!("          - {}\n", repos::project(i)));
    }
    TenantConfig::parse("main.yaml", &text)
        .expect("tenant")
        .tenants
        .remove(0)
}

fn connections(repos: &Path) -> BTreeMap<String, Connection> {
    let git = GitConnection::folder(repos, 60.0);
    BTreeMap::from([("local".to_string(), Connection::Git(git))])
}

/// A `kB` figure of /proc/self/status (VmRSS now, VmHWM the peak so far).
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a kB figure")
}

fn ms(d: Duration) -> String {
    format!("{:.1}ms", d.as_secs_f64() * 1e3)
}

fn mib(kb: u64) -> String {
    format!("{:.1}MiB", kb as f64 / 1024.0)
}
