//! Loading a tenant's layout from real repos.

use portcullis_config::TenantConfig;

use super::*;
use crate::merger::testing::{merger, TestRepo};

const CONFIG: &str = "\
- pipeline:
    name: post
    manager: independent
    trigger:
      local:
        - event: ref-updated
          ref: ^refs/heads/.*$
- job:
    name: base
    parent: null
";

const DEMO: &str = "\
- job:
    name: hello
    run: playbooks/hello.yaml
- project:
    post:
      jobs:
        - hello
";

fn tenant() -> TenantDef {
    let text = "- tenant:\n    name: example\n    source:\n      local:\n        config-projects: [config]\n        untrusted-projects: [demo]\n";
    TenantConfig::parse("main.yaml", text)
        .unwrap()
        .tenants
        .remove(0)
}

struct World {
    _dir: tempfile::TempDir,
    config: TestRepo,
    demo: TestRepo,
    loader: RepoLayoutLoader,
}

async fn world(config: &str, demo: &str) -> World {
    let dir = tempfile::tempdir().unwrap();
    let repos = dir.path().join("repos");
    let config_repo = TestRepo::init(&repos.join("config")).await;
    config_repo.commit(&[("zuul.yaml", config)], "config").await;
    let demo_repo = TestRepo::init(&repos.join("demo")).await;
    demo_repo.git(&["checkout", "--quiet", "-b", "main"]).await;
    demo_repo.commit(&[(".zuul.yaml", demo)], "demo").await;
    let loader = RepoLayoutLoader::new(merger(&repos, &dir.path().join("cache")));
    World {
        _dir: dir,
        config: config_repo,
        demo: demo_repo,
        loader,
    }
}

#[tokio::test]
async fn a_tenant_is_loaded_from_each_projects_default_branch() {
    let w = world(CONFIG, DEMO).await;

    let layout = w.loader.load(tenant()).await.unwrap();

    assert!(layout.errors.is_empty(), "{:?}", layout.errors);
    assert!(layout.pipeline("post").is_some());
    assert!(layout.jobs.contains_key("base"));
    let hello = &layout.jobs["hello"][0];
    assert_eq!(hello.source.branch, "main", "demo's HEAD names main");
    assert!(!hello.source.trusted);
    assert!(layout.jobs["base"][0].source.trusted);
    assert!(layout.projects.contains_key("demo"));
}

#[tokio::test]
async fn an_error_in_a_config_project_rejects_the_layout() {
    let broken = format!("{CONFIG}- pipeline:\n    name: gate\n    manager: nonsense\n");
    let w = world(&broken, DEMO).await;

    let result = w.loader.load(tenant()).await;

    let Err(LoadError::Config(errors)) = result else {
        panic!("expected config errors, got {result:?}");
    };
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].project.as_deref(), Some("config"));
}

#[tokio::test]
async fn an_error_in_an_untrusted_project_stays_in_the_layout() {
    let broken = format!("{DEMO}- job:\n    name: bad\n    frobnicate: yes\n");
    let w = world(CONFIG, &broken).await;

    let layout = w.loader.load(tenant()).await.unwrap();

    assert_eq!(layout.errors.len(), 1, "{:?}", layout.errors);
    assert_eq!(layout.errors[0].project.as_deref(), Some("demo"));
    assert!(layout.jobs.contains_key("hello"));
}

#[tokio::test]
async fn a_new_commit_is_seen_by_the_next_load() {
    let w = world(CONFIG, DEMO).await;
    w.loader.load(tenant()).await.unwrap();
    let more = format!("{DEMO}- job:\n    name: again\n    run: playbooks/hello.yaml\n");
    w.demo.commit(&[(".zuul.yaml", &more)], "more").await;

    let layout = w.loader.load(tenant()).await.unwrap();

    assert!(layout.jobs.contains_key("again"));
    assert!(w.config.path.exists());
}

#[tokio::test]
async fn a_missing_repo_is_a_repo_error() {
    let w = world(CONFIG, DEMO).await;
    std::fs::remove_dir_all(&w.demo.path).unwrap();

    let result = w.loader.load(tenant()).await;

    assert!(
        matches!(result, Err(LoadError::Repo(ref m)) if m.contains("demo")),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_repo_the_in_process_reader_leaves_alone_is_read_through_git() {
    let w = world(CONFIG, DEMO).await;
    // A repo extension the in-process reader does not know.
    w.demo
        .git(&["config", "extensions.worktreeConfig", "true"])
        .await;
    let first = w.loader.load(tenant()).await.unwrap();
    let more = format!("{DEMO}- job:\n    name: again\n    run: playbooks/hello.yaml\n");
    w.demo.commit(&[(".zuul.yaml", &more)], "more").await;

    let layout = w.loader.load(tenant()).await.unwrap();

    assert_eq!(first.jobs["hello"][0].source.branch, "main");
    assert!(!first.jobs.contains_key("again"));
    assert!(layout.jobs.contains_key("again"));
    let cache = w.loader.merger.cache_dir().join("local/demo.git");
    assert!(cache.exists(), "git fetched demo into the cache");
    assert!(!w
        .loader
        .merger
        .cache_dir()
        .join("local/config.git")
        .exists());
}

/// Proposes `text` as demo's `.zuul.yaml` on a review branch and builds the
/// speculative state of that change.
async fn state_with_demo_config(w: &World, text: &str) -> MergeState {
    use portcullis_actors::change::{MergeMode, MergeRequest};
    w.demo
        .git(&["checkout", "--quiet", "-b", "review/main/config"])
        .await;
    let patchset = w.demo.commit(&[(".zuul.yaml", text)], "Config").await;
    w.demo.git(&["checkout", "--quiet", "main"]).await;
    let item = crate::merger::testing::change_item("demo", "main", 1, &patchset, MergeMode::Merge);
    let request = MergeRequest {
        item_uuid: "item".into(),
        items: vec![item],
        required: Vec::new(),
    };
    w.loader.merger.speculate(&request).await.unwrap()
}

#[tokio::test]
async fn a_state_with_an_untrusted_config_change_gives_a_layout_with_its_new_job() {
    let w = world(CONFIG, DEMO).await;
    w.loader.load(tenant()).await.unwrap();
    let lint = format!("{DEMO}- job:\n    name: lint\n    run: playbooks/lint.yaml\n- project:\n    post:\n      jobs: [lint]\n");

    let state = state_with_demo_config(&w, &lint).await;
    let layout = w.loader.speculative_layout("example", &state).await;

    let layout = layout.unwrap().expect("the change makes a layout");
    let jobs = layout.job_graph("post", "demo", "main").unwrap();
    let names: Vec<_> = jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names, ["hello", "lint"]);
}

#[tokio::test]
async fn a_state_whose_config_change_is_broken_is_a_config_error_naming_the_file() {
    let w = world(CONFIG, DEMO).await;
    w.loader.load(tenant()).await.unwrap();

    let state = state_with_demo_config(&w, &format!("{DEMO}- job:\n    nmae: typo\n")).await;
    let loaded = w.loader.speculative_layout("example", &state).await;

    let Err(LoadError::Config(errors)) = loaded else {
        panic!(
            "expected config errors, got {:?}",
            loaded.map(|l| l.is_some())
        );
    };
    assert_eq!(errors[0].file, ".zuul.yaml");
    assert_eq!(errors[0].line, 9, "the line of the unknown key");
}

#[tokio::test]
async fn a_state_that_changes_no_config_file_keeps_the_tenants_layout() {
    let w = world(CONFIG, DEMO).await;
    w.loader.load(tenant()).await.unwrap();

    let state = state_with_demo_config(&w, DEMO).await;

    assert!(w
        .loader
        .speculative_layout("example", &state)
        .await
        .unwrap()
        .is_none());
}
