//! What the fuzzers run on each input (the cargo-fuzz target in `config/fuzz`
//! and the stable-toolchain run in `examples/fuzz.rs`), kept here so both
//! exercise the very same path: any text as the config file of a config and
//! an untrusted project, assembled with keys (so encrypted values are tried),
//! every error reported, every pipeline frozen for both projects; and the
//! two ways of reading a file's items checked against each other.

use std::sync::{Arc, OnceLock};

use crate::encryption::RsaPrivateKey;
use crate::{ConfigFile, Layout, TenantConfig};

const TENANT: &str = "- tenant:\n    name: t\n    source:\n      local:\n        config-projects: [config]\n        untrusted-projects: [demo]\n";

/// Small, as the fuzzers only need some key; made once per process.
const FUZZ_KEY_BITS: usize = 1024;

fn key() -> Result<Arc<RsaPrivateKey>, String> {
    static KEY: OnceLock<Option<Arc<RsaPrivateKey>>> = OnceLock::new();
    let made = KEY.get_or_init(|| {
        RsaPrivateKey::new(&mut rsa::rand_core::OsRng, FUZZ_KEY_BITS)
            .ok()
            .map(Arc::new)
    });
    made.clone().ok_or_else(|| "no key".to_string())
}

/// xorshift64*: a small, seedable generator, so a failing run names a seed that replays it.
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// The layout of `text` as the `zuul.yaml` of both a config and an untrusted project.
pub fn layout_of(text: &str) -> Option<Layout> {
    let mut tenants = TenantConfig::parse("main.yaml", TENANT).ok()?;
    let tenant = tenants.tenants.remove(0);
    let files: Vec<ConfigFile> = ["config", "demo"]
        .into_iter()
        .map(|project| ConfigFile {
            connection: "local".into(),
            project: project.into(),
            branch: "master".into(),
            commit: "0".into(),
            path: "zuul.yaml".into(),
            trusted: project == "config",
            text: text.into(),
        })
        .collect();
    let drivers = [("local".to_string(), "git".to_string())]
        .into_iter()
        .collect();
    let keys = |_: &str, _: &str| key();
    Some(Layout::build_with_keys(
        &tenant,
        &drivers,
        &files,
        Some(&keys),
    ))
}

/// Freezes every pipeline for both projects, with unknown and with some changed files.
pub fn freeze_all(layout: &Layout) {
    let changed = ["a".to_string()];
    for pipeline in &layout.pipelines {
        for project in ["config", "demo"] {
            let _ = layout.job_graph_for_files(&pipeline.name, project, "master", None);
            let _ = layout.job_graph_for_files(&pipeline.name, project, "master", Some(&changed));
        }
    }
}

/// Loads `text` as both projects' `zuul.yaml`, reports every error and freezes everything.
pub fn load_and_freeze(text: &str) {
    crate::stanza::assert_items_alone_read_as_the_whole(text);
    let Some(layout) = layout_of(text) else {
        return;
    };
    for error in &layout.errors {
        let _ = error.report();
    }
    freeze_all(&layout);
}
