//! Store URLs: which backend they name, and errors that never show a password.

use std::path::PathBuf;

use crate::store::connection::{redact, Target};
use crate::store::{Store, StoreError};

#[test]
fn sqlite_and_postgres_urls_name_their_backend() {
    let lite = Target::parse("sqlite:///var/lib/portcullis/history.db").unwrap();
    assert_eq!(
        lite,
        Target::Sqlite(PathBuf::from("/var/lib/portcullis/history.db"))
    );
    let relative = Target::parse("sqlite://state/history.db").unwrap();
    assert_eq!(relative, Target::Sqlite(PathBuf::from("state/history.db")));
    let pg = Target::parse("postgresql://zuul@db/zuul").unwrap();
    assert_eq!(pg, Target::Postgres("postgresql://zuul@db/zuul".into()));
}

#[test]
fn passwords_are_hidden_from_messages() {
    assert_eq!(
        redact("postgres://zuul:s3cret@db:5432/zuul"),
        "postgres://zuul:***@db:5432/zuul"
    );
    assert_eq!(redact("postgres://zuul@db/zuul"), "postgres://zuul@db/zuul");
    assert_eq!(redact("sqlite:///tmp/a.db"), "sqlite:///tmp/a.db");
}

#[tokio::test]
async fn an_unknown_scheme_is_a_connect_error() {
    let err = Store::open("mysql://db/zuul").await.unwrap_err();
    assert!(matches!(err, StoreError::Connect { .. }), "{err:?}");
    assert!(
        err.to_string().contains("sqlite://PATH or postgres://"),
        "{err}"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_a_connect_error_without_the_password() {
    // Port 1 on localhost: nothing listens there, so the refusal is immediate.
    let err = Store::open("postgres://zuul:s3cret@127.0.0.1:1/zuul")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Connect { .. }), "{err:?}");
    assert!(!err.to_string().contains("s3cret"), "{err}");
}

#[tokio::test]
async fn a_sqlite_store_creates_its_folder_and_writes_ahead() {
    // Given a path whose folders do not exist yet
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a").join("b").join("history.db");

    // When a store opens it
    let store = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();

    // Then the file exists and its journal is a write-ahead log
    assert!(path.exists());
    let mode = store
        .run(|conn| {
            use diesel::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct Mode {
                #[diesel(sql_type = diesel::sql_types::Text)]
                journal_mode: String,
            }
            let rows = diesel::sql_query("PRAGMA journal_mode").load::<Mode>(conn)?;
            Ok(rows.into_iter().map(|m| m.journal_mode).collect::<Vec<_>>())
        })
        .await
        .unwrap();
    assert_eq!(mode, ["wal"]);
}
