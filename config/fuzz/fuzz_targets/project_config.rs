//! Any text as a project config file: parsing, assembling and freezing must
//! return objects or located errors, never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_config::{ConfigFile, Layout, TenantConfig};

const TENANT: &str = "- tenant:\n    name: t\n    source:\n      local:\n        config-projects: [config]\n        untrusted-projects: [demo]\n";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
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
    let drivers = [("local".to_string(), "git".to_string())].into_iter().collect();
    let layout = Layout::build(&tenant, &drivers, &files);
    for error in &layout.errors {
        let _ = error.report();
    }
    for pipeline in &layout.pipelines {
        for project in ["config", "demo"] {
            let _ = layout.job_graph_for_files(&pipeline.name, project, "master", Some(&["a".into()]));
        }
    }
});
