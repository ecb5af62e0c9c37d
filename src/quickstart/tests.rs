//! Seeding the quickstart's repos, and loading its tenant from them.

use std::collections::BTreeMap;

use portcullis_actors::LayoutLoader;
use portcullis_config::server::Connection;
use portcullis_config::{ServerConfig, TenantConfig};

use super::*;
use crate::merger::testing::TestRepo;
use crate::merger::{Merger, RepoLayoutLoader};

fn quickstart_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/quickstart")
}

fn connection(baseurl: &Path, seed: &Path) -> GitConnection {
    GitConnection {
        baseurl: baseurl.display().to_string(),
        poll_delay: 1.0,
        seed: Some(seed.to_path_buf()),
        review_prefix: "review/".into(),
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn missing_repos_are_created_from_their_seed_folders_with_a_fixed_author() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed");
    std::fs::create_dir_all(seed.join("demo/playbooks")).unwrap();
    std::fs::write(seed.join("demo/.zuul.yaml"), "[]\n").unwrap();
    std::fs::write(seed.join("demo/playbooks/hello.yaml"), "- hosts: all\n").unwrap();
    let repos = dir.path().join("repos");

    let created = seed_repos(&connection(&repos, &seed), &names(&["demo", "unseeded"])).await;

    assert_eq!(created.unwrap(), names(&["demo"]));
    assert!(!repos.join("unseeded").exists());
    let repo = TestRepo {
        path: repos.join("demo"),
    };
    let files = repo.git(&["ls-tree", "-r", "--name-only", "master"]).await;
    assert_eq!(files, ".zuul.yaml\nplaybooks/hello.yaml");
    let author = repo
        .git(&["log", "-1", "--format=%an <%ae>|%cn", "master"])
        .await;
    assert_eq!(
        author,
        format!("{AUTHOR_NAME} <{AUTHOR_EMAIL}>|{AUTHOR_NAME}")
    );
    assert_eq!(
        repo.git(&["rev-parse", "--is-bare-repository"]).await,
        "true"
    );
}

#[tokio::test]
async fn seeding_again_leaves_existing_repos_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed");
    std::fs::create_dir_all(seed.join("demo")).unwrap();
    std::fs::write(seed.join("demo/a.txt"), "a").unwrap();
    let repos = dir.path().join("repos");
    let conn = connection(&repos, &seed);
    seed_repos(&conn, &names(&["demo"])).await.unwrap();
    let repo = TestRepo {
        path: repos.join("demo"),
    };
    let before = repo.git(&["rev-parse", "master"]).await;
    std::fs::write(seed.join("demo/a.txt"), "changed").unwrap();

    let again = seed_repos(&conn, &names(&["demo"])).await.unwrap();

    assert!(again.is_empty());
    assert_eq!(repo.git(&["rev-parse", "master"]).await, before);
}

#[tokio::test]
async fn nothing_is_seeded_without_a_seed_or_for_a_remote_baseurl() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed");
    std::fs::create_dir_all(seed.join("demo")).unwrap();
    let mut no_seed = connection(dir.path(), &seed);
    no_seed.seed = None;
    let mut remote = connection(dir.path(), &seed);
    remote.baseurl = "https://git.example.com/org".into();

    let a = seed_repos(&no_seed, &names(&["demo"])).await.unwrap();
    let b = seed_repos(&remote, &names(&["demo"])).await.unwrap();

    assert!(a.is_empty() && b.is_empty());
    assert!(!dir.path().join("demo").exists());
}

#[tokio::test]
async fn the_quickstart_tenant_loads_from_its_seeded_repos_without_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server_path = quickstart_dir().join("portcullis.yaml");
    let server = ServerConfig::parse(
        &server_path,
        &std::fs::read_to_string(&server_path).unwrap(),
    )
    .unwrap();
    let tenants_text = std::fs::read_to_string(&server.tenant_config).unwrap();
    let tenant = TenantConfig::parse("main.yaml", &tenants_text)
        .unwrap()
        .tenants
        .remove(0);
    let Some(Connection::Git(configured)) = server.connections.get("local") else {
        panic!("the quickstart has a git connection `local`");
    };
    let repos = dir.path().join("repos");
    let seed = configured.seed.clone().unwrap();
    let local = connection(&repos, &seed);
    let projects: Vec<String> = tenant.projects().into_iter().map(|p| p.name).collect();

    let created = seed_repos(&local, &projects).await.unwrap();
    let connections = BTreeMap::from([("local".to_string(), Connection::Git(local))]);
    let loader = RepoLayoutLoader::new(Merger::new(dir.path().join("cache"), connections));
    let layout = loader.load(tenant).await.unwrap();

    assert_eq!(created, names(&["config", "demo"]));
    assert!(layout.errors.is_empty(), "{:#?}", layout.errors);
    assert!(layout.pipeline("post").is_some() && layout.pipeline("tag").is_some());
    let jobs = layout.job_graph("post", "demo", "master").unwrap();
    assert_eq!(
        jobs.iter().map(|j| j.name.as_str()).collect::<Vec<_>>(),
        ["hello"]
    );
}
