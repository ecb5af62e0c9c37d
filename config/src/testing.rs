//! Helpers for this crate's tests: a tenant and layouts built from inline YAML.

use std::collections::BTreeMap;

use crate::{ConfigFile, Layout, TenantConfig, TenantDef};

/// A tenant with config project `config` and untrusted `demo` and `other` on connection `local`.
pub fn tenant() -> TenantDef {
    let text = "- tenant:\n    name: t\n    source:\n      local:\n        config-projects: [config]\n        untrusted-projects: [demo, other]\n";
    TenantConfig::parse("main.yaml", text)
        .unwrap()
        .tenants
        .remove(0)
}

/// A config file of `project` (trusted when it is `config`) on branch `master`.
pub fn file(project: &str, path: &str, text: &str) -> ConfigFile {
    ConfigFile {
        connection: "local".into(),
        project: project.into(),
        branch: "master".into(),
        commit: format!("{project}-sha"),
        path: path.into(),
        trusted: project == "config",
        text: text.into(),
    }
}

/// Connection `local` is git, `mail` is smtp.
pub fn drivers() -> BTreeMap<String, String> {
    [("local", "git"), ("mail", "smtp")]
        .into_iter()
        .map(|(c, d)| (c.to_string(), d.to_string()))
        .collect()
}

/// A post pipeline on `local` and a base job, as a config project writes them.
pub const CONFIG: &str = "\
- pipeline:
    name: post
    manager: independent
    trigger:
      local:
        - event: ref-updated
          ref: refs/heads/.*
- job:
    name: base
    parent: null
    pre-run: base/pre.yaml
    run: base/run.yaml
    post-run: base/post.yaml
    vars: {site: {region: east, zone: a}, level: 1}
";

/// The layout of `CONFIG` plus the given files.
pub fn layout(files: &[ConfigFile]) -> Layout {
    let mut all = vec![file("config", "zuul.yaml", CONFIG)];
    all.extend_from_slice(files);
    Layout::build(&tenant(), &drivers(), &all)
}
