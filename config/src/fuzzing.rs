//! What the fuzzers run on each input (the cargo-fuzz target in `config/fuzz`
//! and the stable-toolchain run in `examples/fuzz.rs`), kept here so both
//! exercise the very same path: any text as the config file of a config and
//! an untrusted project, assembled with keys (so encrypted values are tried),
//! every error reported, every pipeline frozen for both projects.

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

/// Loads `text` as both projects' `zuul.yaml` and freezes everything; must never panic.
pub fn load_and_freeze(text: &str) {
    let Ok(mut tenants) = TenantConfig::parse("main.yaml", TENANT) else {
        return;
    };
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
    let layout = Layout::build_with_keys(&tenant, &drivers, &files, Some(&keys));
    for error in &layout.errors {
        let _ = error.report();
    }
    let changed = ["a".to_string()];
    for pipeline in &layout.pipelines {
        for project in ["config", "demo"] {
            let _ = layout.job_graph_for_files(&pipeline.name, project, "master", None);
            let _ = layout.job_graph_for_files(&pipeline.name, project, "master", Some(&changed));
        }
    }
}
