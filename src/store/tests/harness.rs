//! Throwaway databases for tests, and a small fixture of recorded history.

use chrono::{DateTime, TimeZone, Utc};
use diesel::{Connection, PgConnection, RunQueryDsl};
use portcullis_actors::change::ChangeRef;
use portcullis_actors::port::StoreRecord;
use portcullis_actors::{BuildResult, ItemRef};

use crate::store::Store;

/// Where the tests find a PostgreSQL server, unless the environment says otherwise.
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432";

/// A database that exists for one test and is removed after it.
pub struct TestDb {
    /// The store URL of the database.
    pub url: String,
    /// Keeps the SQLite folder alive; deleted on drop.
    _dir: Option<tempfile::TempDir>,
    /// The PostgreSQL database to drop, with the server's base URL.
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// A SQLite file in a folder that does not exist yet.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("not-yet-there").join("history.db");
        TestDb {
            url: format!("sqlite://{}", path.display()),
            _dir: Some(dir),
            postgres: None,
        }
    }

    /// A new, uniquely named database on the test PostgreSQL server.
    pub fn postgres() -> TestDb {
        let base = postgres_base();
        let name = format!("portcullis_test_{}", uuid::Uuid::new_v4().simple());
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin(&base))
            .unwrap_or_else(|e| panic!("cannot create database {name} on {base}: {e}"));
        TestDb {
            url: format!("{base}/{name}"),
            _dir: None,
            postgres: Some((base, name)),
        }
    }

    /// Opens a store on this database.
    pub async fn open(&self) -> Store {
        Store::open(&self.url)
            .await
            .unwrap_or_else(|e| panic!("cannot open the store at {}: {e}", self.url))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, name)) = &self.postgres {
            // FORCE: pooled connections of stores still alive must not keep it.
            let dropped = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin(base));
            if let Err(e) = dropped {
                eprintln!("cannot drop test database {name}: {e}");
            }
        }
    }
}

/// The test server's URL, without a database name.
pub fn postgres_base() -> String {
    let base = std::env::var("PORTCULLIS_TEST_POSTGRES").unwrap_or(DEFAULT_POSTGRES.to_string());
    base.trim_end_matches('/').to_string()
}

/// A connection to the server's `postgres` database, or a clear failure.
pub fn admin(base: &str) -> PgConnection {
    PgConnection::establish(&format!("{base}/postgres")).unwrap_or_else(|e| {
        panic!(
            "the store tests need PostgreSQL at {base} (set PORTCULLIS_TEST_POSTGRES \
             to another server): {e}"
        )
    })
}

/// A fixed instant: `minutes` after a day in 2024, in whole seconds so both
/// backends give it back exactly.
pub fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0)
        .single()
        .expect("a valid date")
        + chrono::Duration::minutes(minutes)
}

/// One job of a seeded buildset; `result: None` leaves it running.
pub struct Job {
    /// Job name; the build uuid is `<buildset>-<name>`.
    pub name: String,
    /// Whether it votes.
    pub voting: bool,
    /// How it ended, if it did.
    pub result: Option<BuildResult>,
    /// Whether an autohold kept its nodes.
    pub held: bool,
}

/// A job that votes and ended with `result`.
pub fn job(name: &str, result: BuildResult) -> Job {
    Job {
        name: name.into(),
        voting: true,
        result: Some(result),
        held: false,
    }
}

/// Where a seeded buildset ran.
pub struct Item {
    /// Buildset uuid.
    pub uuid: String,
    /// Tenant.
    pub tenant: &'static str,
    /// Pipeline.
    pub pipeline: &'static str,
    /// Project.
    pub project: &'static str,
    /// Branch (the ref is `refs/heads/<branch>`).
    pub branch: &'static str,
    /// The review change and patchset, when the item is one.
    pub change: Option<(u64, &'static str)>,
}

/// Records a buildset and its jobs through the engine's port, one minute per
/// step; the buildset finishes when every job has a result.
pub async fn seed(store: &Store, item: Item, jobs: Vec<Job>, minute: i64) {
    let record = |r: StoreRecord| store.record(r);
    record(StoreRecord::BuildsetStarted {
        uuid: item.uuid.clone(),
        tenant: item.tenant.into(),
        pipeline: item.pipeline.into(),
        item: item_ref(&item),
        event_id: format!("event-{}", item.uuid),
        event_timestamp: at(minute),
    })
    .await
    .expect("buildset started");
    for (i, job) in jobs.iter().enumerate() {
        record(StoreRecord::BuildStarted {
            buildset_uuid: item.uuid.clone(),
            uuid: format!("{}-{}", item.uuid, job.name),
            job_name: job.name.clone(),
            voting: job.voting,
            nodeset: if job.name == "e2e" { "big" } else { "small" }.into(),
            start_time: at(minute + 1 + i as i64),
        })
        .await
        .expect("build started");
    }
    for job in &jobs {
        let Some(result) = job.result else { continue };
        record(StoreRecord::BuildFinished {
            uuid: format!("{}-{}", item.uuid, job.name),
            result,
            end_time: at(minute + 10),
            log_url: Some(format!("https://logs.example/{}/{}/", item.uuid, job.name)),
            error_detail: (result == BuildResult::Error).then(|| "no nodes".to_string()),
            held: job.held,
        })
        .await
        .expect("build finished");
    }
    if jobs.iter().all(|j| j.result.is_some()) {
        let votes = jobs.iter().filter_map(|j| j.result.map(|r| (j.voting, r)));
        record(StoreRecord::BuildsetFinished {
            uuid: item.uuid.clone(),
            result: portcullis_actors::result::buildset_result(votes),
            message: format!("Build report for {}", item.uuid),
            end_time: at(minute + 11),
        })
        .await
        .expect("buildset finished");
    }
}

/// The ref of a seeded item; its newrev is `<uuid>-new`.
pub fn item_ref(item: &Item) -> ItemRef {
    ItemRef {
        connection: "gerrit".into(),
        project: item.project.into(),
        ref_name: format!("refs/heads/{}", item.branch),
        branch: Some(item.branch.into()),
        tag: None,
        oldrev: format!("{}-old", item.uuid),
        newrev: format!("{}-new", item.uuid),
        change: item.change.map(|(number, patchset)| ChangeRef {
            number,
            patchset: patchset.into(),
            url: Some(format!("https://review.example/{number}")),
            message: String::new(),
            depends_on: Vec::new(),
            parents: Vec::new(),
        }),
    }
}
