//! The quickstart config (config/quickstart) parses, assembles without errors,
//! and gives the demo project jobs to run.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use portcullis_config::pipeline::{EventFacts, Manager, Pipeline};
use portcullis_config::{ConfigFile, Layout, ServerConfig, TenantConfig, TenantDef};

fn quickstart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("quickstart")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The config files of one project folder, as Zuul picks them: the first of
/// zuul.yaml, zuul.d/, .zuul.yaml, .zuul.d/ that exists.
fn project_files(dir: &Path) -> Vec<(String, String)> {
    for name in ["zuul.yaml", "zuul.d", ".zuul.yaml", ".zuul.d"] {
        let path = dir.join(name);
        if path.is_file() {
            return vec![(name.to_string(), read(&path))];
        }
        if path.is_dir() {
            let mut entries: Vec<_> = fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
                .collect();
            entries.sort();
            return entries
                .into_iter()
                .map(|p| {
                    let file = p.file_name().unwrap().to_string_lossy().to_string();
                    (format!("{name}/{file}"), read(&p))
                })
                .collect();
        }
    }
    Vec::new()
}

fn config_files(tenant: &TenantDef) -> Vec<ConfigFile> {
    let mut files = Vec::new();
    for project in tenant.projects() {
        for (path, text) in project_files(&quickstart().join("projects").join(&project.name)) {
            files.push(ConfigFile {
                connection: project.connection.clone(),
                project: project.name.clone(),
                branch: "master".into(),
                commit: "0".repeat(40),
                path,
                trusted: project.trusted,
                text: text.into(),
            });
        }
    }
    files
}

#[test]
fn the_quickstart_parses_and_gives_the_demo_project_jobs() {
    let server_path = quickstart().join("portcullis.yaml");
    let server = ServerConfig::parse(&server_path, &read(&server_path)).unwrap();
    let main_path = quickstart().join("main.yaml");
    assert_eq!(
        server.tenant_config, main_path,
        "the quickstart's tenant config"
    );
    let tenants = TenantConfig::parse("main.yaml", &read(&main_path)).unwrap();
    let drivers: BTreeMap<String, String> = server
        .connections
        .iter()
        .map(|(name, c)| (name.clone(), c.driver().to_string()))
        .collect();
    let mut frozen_jobs = 0;
    for tenant in &tenants.tenants {
        let files = config_files(tenant);
        assert!(
            files.iter().any(|f| f.trusted),
            "tenant {} has config-project files",
            tenant.name
        );
        let layout = Layout::build(tenant, &drivers, &files);
        assert!(layout.errors.is_empty(), "{:#?}", layout.errors);
        assert!(
            !layout.pipelines.is_empty(),
            "tenant {} has pipelines",
            tenant.name
        );
        for project in tenant.projects().iter().filter(|p| !p.trusted) {
            for pipeline in &layout.pipelines {
                let jobs = layout.job_graph(&pipeline.name, &project.name, "master");
                let jobs = jobs.unwrap_or_else(|e| panic!("{e}"));
                for job in &jobs {
                    assert!(!job.run.is_empty(), "{} runs something", job.name);
                }
                if project.name == "demo" {
                    frozen_jobs += jobs.len();
                }
            }
        }
    }
    assert!(frozen_jobs > 0, "the demo project runs at least one job");
}

#[test]
fn the_quickstart_checks_and_gates_changes_and_the_gate_merges_them() {
    let tenants = TenantConfig::parse("main.yaml", &read(&quickstart().join("main.yaml"))).unwrap();
    let tenant = &tenants.tenants[0];
    let drivers = BTreeMap::from([("local".to_string(), "git".to_string())]);
    let layout = Layout::build(tenant, &drivers, &config_files(tenant));
    assert!(layout.errors.is_empty(), "{:#?}", layout.errors);
    let new_patchset = EventFacts {
        connection: "local",
        event_type: "patchset-created",
        ref_name: "refs/heads/master",
        deleted: false,
    };

    let check = layout.pipeline("check").expect("a check pipeline");
    let gate = layout.pipeline("gate").expect("a gate pipeline");

    assert_eq!(check.manager, Manager::Independent);
    assert_eq!(gate.manager, Manager::Dependent);
    for pipeline in [check, gate] {
        assert!(pipeline.is_triggered_by(&new_patchset), "{}", pipeline.name);
        let jobs = layout.job_graph(&pipeline.name, "demo", "master").unwrap();
        let names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
        assert_eq!(names, ["hello"], "demo in {}", pipeline.name);
    }
    let merges = |p: &Pipeline| p.success.iter().any(|r| r.settings["merge"] == true);
    assert!(merges(gate), "gate merges what passes");
    assert!(!merges(check), "check only reports");
}
