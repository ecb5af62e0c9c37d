//! Scenarios: each of Zuul's filters and paging, on a small fixed history.

use portcullis_actors::BuildResult;

use super::harness::{job, seed, Item, Job, TestDb};
use crate::store::{BuildFilter, BuildsetFilter, Store};

fn item(
    uuid: &str,
    tenant: &'static str,
    pipeline: &'static str,
    project: &'static str,
    branch: &'static str,
) -> Item {
    Item {
        uuid: uuid.into(),
        tenant,
        pipeline,
        project,
        branch,
        change: None,
    }
}

/// Records, oldest first: in tenant acme, A (check, org/api, master: lint
/// passed, non-voting unit failed and was held), B (gate, org/api, stable/1, change 42
/// patchset 3: unit failed), C (check, org/web, master: lint errored, e2e
/// still running); and D in tenant other.
async fn history(db: &TestDb) -> Store {
    let store = db.open().await;
    let unit_nv = Job {
        name: "unit".into(),
        voting: false,
        result: Some(BuildResult::Failure),
        held: true,
    };
    let running = Job {
        name: "e2e".into(),
        voting: true,
        result: None,
        held: false,
    };
    let a = item("A", "acme", "check", "org/api", "master");
    seed(
        &store,
        a,
        vec![job("lint", BuildResult::Success), unit_nv],
        0,
    )
    .await;
    let b = Item {
        change: Some((42, "3")),
        ..item("B", "acme", "gate", "org/api", "stable/1")
    };
    seed(&store, b, vec![job("unit", BuildResult::Failure)], 20).await;
    let c = item("C", "acme", "check", "org/web", "master");
    seed(
        &store,
        c,
        vec![job("lint", BuildResult::Error), running],
        40,
    )
    .await;
    let d = item("D", "other", "check", "org/api", "master");
    seed(&store, d, vec![job("lint", BuildResult::Success)], 60).await;
    store
}

/// The uuids of the acme builds the query string selects, in order.
async fn builds(store: &Store, query: &str) -> Vec<String> {
    let filter = BuildFilter::from_query(query).expect("a valid filter");
    let rows = store.builds("acme", &filter).await.expect("query");
    rows.into_iter().map(|b| b.uuid).collect()
}

/// The uuids of the acme buildsets the query string selects, in order.
async fn buildsets(store: &Store, query: &str) -> Vec<String> {
    let filter = BuildsetFilter::from_query(query).expect("a valid filter");
    let rows = store.buildsets("acme", &filter).await.expect("query");
    rows.into_iter().map(|b| b.uuid).collect()
}

async fn each_build_filter_selects_what_zuul_would(db: &TestDb) {
    let store = history(db).await;
    let cases: &[(&str, &[&str])] = &[
        ("", &["C-e2e", "C-lint", "B-unit", "A-unit", "A-lint"]),
        ("project=org/web", &["C-e2e", "C-lint"]),
        (
            "project=org/*",
            &["C-e2e", "C-lint", "B-unit", "A-unit", "A-lint"],
        ),
        ("project=org/web&project=nope", &["C-e2e", "C-lint"]),
        ("pipeline=gate", &["B-unit"]),
        ("pipeline=ch*", &["C-e2e", "C-lint", "A-unit", "A-lint"]),
        ("change=42", &["B-unit"]),
        ("patchset=3", &["B-unit"]),
        ("branch=stable/*", &["B-unit"]),
        ("branch=master", &["C-e2e", "C-lint", "A-unit", "A-lint"]),
        ("ref=refs/heads/stable/1", &["B-unit"]),
        ("newrev=A-new", &["A-unit", "A-lint"]),
        ("uuid=A-unit", &["A-unit"]),
        ("job_name=unit", &["B-unit", "A-unit"]),
        ("job_name=l*", &["C-lint", "A-lint"]),
        ("job_name=l_n*", &[]),
        ("voting=false", &["A-unit"]),
        ("nodeset=big", &["C-e2e"]),
        ("result=SUCCESS&result=ERROR", &["C-lint", "A-lint"]),
        ("exclude_result=SUCCESS", &["C-lint", "B-unit", "A-unit"]),
        ("final=false", &["C-e2e"]),
        ("complete=false", &["C-e2e"]),
        ("complete=true&job_name=lint", &["C-lint", "A-lint"]),
        ("held=true", &["A-unit"]),
        ("held=0&pipeline=gate", &["B-unit"]),
        ("project=org/api&pipeline=check", &["A-unit", "A-lint"]),
    ];
    for (query, expected) in cases {
        assert_eq!(builds(&store, query).await, *expected, "builds?{query}");
    }
}

async fn builds_page_newest_first_by_limit_skip_and_index(db: &TestDb) {
    // Given five acme builds, and the id of the middle one
    let store = history(db).await;
    let b_unit = store
        .build("acme", "B-unit")
        .await
        .unwrap()
        .expect("B-unit");
    let id = b_unit.id;

    // When paging, then pages follow Zuul's order and bounds
    assert_eq!(builds(&store, "limit=2").await, ["C-e2e", "C-lint"]);
    assert_eq!(builds(&store, "limit=2&skip=2").await, ["B-unit", "A-unit"]);
    assert_eq!(builds(&store, "skip=4").await, ["A-lint"]);
    let below = builds(&store, &format!("idx_max={id}")).await;
    assert_eq!(below, ["B-unit", "A-unit", "A-lint"]);
    let above = builds(&store, &format!("idx_min={id}&limit=1")).await;
    assert_eq!(above, ["C-e2e"]);
}

async fn each_buildset_filter_selects_what_zuul_would(db: &TestDb) {
    let store = history(db).await;
    let cases: &[(&str, &[&str])] = &[
        ("", &["C", "B", "A"]),
        ("project=org/api", &["B", "A"]),
        ("project=*web", &["C"]),
        ("pipeline=check", &["C", "A"]),
        ("change=42&patchset=3", &["B"]),
        ("branch=master", &["C", "A"]),
        ("ref=refs/heads/stable/1", &["B"]),
        ("newrev=C-new", &["C"]),
        ("uuid=A&uuid=B", &["B", "A"]),
        ("result=FAILURE", &["B"]),
        ("exclude_result=FAILURE", &["A"]),
        ("complete=false", &["C"]),
        ("complete=true", &["B", "A"]),
        ("limit=1&skip=1", &["B"]),
    ];
    for (query, expected) in cases {
        assert_eq!(
            buildsets(&store, query).await,
            *expected,
            "buildsets?{query}"
        );
    }
    let b = store.buildset("acme", "B").await.unwrap().expect("B").0;
    assert_eq!(
        buildsets(&store, &format!("idx_min={}", b.id)).await,
        ["C", "B"]
    );
    assert_eq!(
        buildsets(&store, &format!("idx_max={}", b.id)).await,
        ["B", "A"]
    );
}

async fn another_tenants_history_is_invisible(db: &TestDb) {
    // Given D, recorded in tenant other
    let store = history(db).await;

    // When acme asks for it by uuid, then it is not found; other finds it
    assert_eq!(store.build("acme", "D-lint").await.unwrap(), None);
    assert_eq!(store.buildset("acme", "D").await.unwrap(), None);
    let theirs = store.build("other", "D-lint").await.unwrap();
    assert_eq!(theirs.map(|b| b.buildset.tenant).as_deref(), Some("other"));
    let all = store.buildsets("other", &BuildsetFilter::default()).await;
    let uuids: Vec<_> = all.unwrap().into_iter().map(|b| b.uuid).collect();
    assert_eq!(uuids, ["D"]);
}

async fn a_builds_tenant_is_found_by_its_uuid_alone(db: &TestDb) {
    // Given builds of tenants acme and other
    let store = history(db).await;

    // When each build's tenant is asked by uuid, then its buildset's tenant answers
    let tenant = |uuid: &'static str| {
        let store = store.clone();
        async move { store.build_tenant(uuid).await.expect("query") }
    };
    assert_eq!(tenant("A-lint").await.as_deref(), Some("acme"));
    assert_eq!(tenant("D-lint").await.as_deref(), Some("other"));
    assert_eq!(tenant("ghost").await, None);
}

async fn listing_without_a_limit_returns_zuuls_default_of_fifty(db: &TestDb) {
    // Given one buildset with sixty finished builds
    let store = db.open().await;
    let jobs = (0..60)
        .map(|i| job(&format!("job{i:02}"), BuildResult::Success))
        .collect();
    seed(
        &store,
        item("big", "acme", "check", "org/api", "master"),
        jobs,
        0,
    )
    .await;

    // When builds are listed without a limit
    let rows = builds(&store, "").await;

    // Then the fifty newest come back
    assert_eq!(rows.len(), 50);
    assert_eq!(rows.first().map(String::as_str), Some("big-job59"));
    assert_eq!(rows.last().map(String::as_str), Some("big-job10"));
}

on_both_backends!(
    each_build_filter_selects_what_zuul_would,
    builds_page_newest_first_by_limit_skip_and_index,
    each_buildset_filter_selects_what_zuul_would,
    another_tenants_history_is_invisible,
    a_builds_tenant_is_found_by_its_uuid_alone,
    listing_without_a_limit_returns_zuuls_default_of_fifty,
);
